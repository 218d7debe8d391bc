/**
 * A whole local federation on loopback: N grids, each its own set of
 * processes started exactly as an operator starts them (`intergrid serve`).
 * Grid i is named a, b, c … with area code 101, 102, 103 … The storage
 * servers keep their shares on disk, or (shareBackend s3) in one bucket of a
 * one-host Ceph cluster started first (launcher/share-backend.ts).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { Supervisor } from './supervisor.js';
import { launchGrid, type LaunchedGrid } from './grid.js';
import { launchClearinghouse, admitGrid, type LaunchedClearinghouse } from './clearinghouse.js';
import { launchLongDistance, CONTACT_POINTS_PER_GRID } from './long-distance.js';
import { waitFor } from './supervisor.js';
import { requireNatsServer } from './nats-binary.js';
import { launchNats, type LaunchedNats } from './nats.js';
import { requireCeph } from './ceph-rgw.js';
import { checkDirShareBackend, launchS3, s3ShareBackend, type ShareBackendKind } from './share-backend.js';

export interface FederationOptions {
  dir: string;
  grids: number;
  /** Storage servers per grid. */
  servers: number;
  /** Where the storage servers keep shares: disk (default) or one bucket of a local Ceph cluster under DIR/ceph. */
  shareBackend?: ShareBackendKind;
}

export interface RunningFederation {
  federationPath: string;
  supervisor: Supervisor;
  clearinghouse: LaunchedClearinghouse;
  grids: LaunchedGrid[];
  stop(): Promise<void>;
}

export const MAX_GRIDS = 26;

/** Grid i's name and area code. */
export function gridPlan(i: number, servers: number): { name: string; areaCode: string; servers: number } {
  return { name: String.fromCharCode(97 + i), areaCode: String(101 + i), servers };
}

export async function startFederation(opts: FederationOptions): Promise<RunningFederation> {
  if (!Number.isInteger(opts.grids) || opts.grids < 1 || opts.grids > MAX_GRIDS) {
    throw new InvalidArgumentError(`grids must be an integer in [1, ${MAX_GRIDS}], got ${opts.grids}`);
  }
  const backend = opts.shareBackend ?? 'disk';
  const dir = resolve(opts.dir);
  checkDirShareBackend(dir, backend);
  // Before anything starts: nats-server (and Ceph for s3) installed (root + apt) or one line saying how.
  const natsBin = requireNatsServer();
  const cephPrograms = backend === 's3' ? requireCeph() : undefined;
  mkdirSync(dir, { recursive: true });
  const sup = new Supervisor(dir);
  const grids: LaunchedGrid[] = [];
  let ch: LaunchedClearinghouse | undefined;
  const closeAll = (): void => {
    for (const g of grids) g.manager.close();
    ch?.admin.close();
  };
  try {
    // Ceph and every grid's nats-server first, before any port-0 service could take a port they recorded.
    const s3 = cephPrograms ? await launchS3(sup, cephPrograms) : undefined;
    const natsServers: LaunchedNats[] = [];
    for (let i = 0; i < opts.grids; i++) {
      const plan = gridPlan(i, opts.servers);
      natsServers.push(await launchNats(sup, natsBin, { name: plan.name, areaCode: plan.areaCode, dir: join(dir, plan.name) }));
    }
    ch = await launchClearinghouse(sup);
    for (let i = 0; i < opts.grids; i++) {
      const plan = gridPlan(i, opts.servers);
      const grid = await launchGrid(sup, plan, natsServers[i]!, ch, s3 ? (server) => s3ShareBackend(s3, plan.name, server) : undefined);
      grids.push(grid);
      await admitGrid(ch, { name: grid.plan.name, areaCode: grid.plan.areaCode, gridManagerPublicKey: grid.gridManagerPublicKey });
      await launchLongDistance(sup, grid, ch);
    }
    // Ready when every grid resolves to all its contact points.
    const admin = ch.admin;
    await waitFor(
      async () => (await admin.listGrids()).filter((g) => g.contactPoints >= CONTACT_POINTS_PER_GRID).length >= grids.length,
      30_000,
      'every contact point to register at the clearinghouse',
    );
    const federationPath = sup.writeFederationFile();
    const launched = ch;
    return {
      federationPath,
      supervisor: sup,
      clearinghouse: launched,
      grids,
      async stop() {
        closeAll();
        await sup.stop();
      },
    };
  } catch (err) {
    closeAll();
    await sup.stop();
    throw err;
  }
}
