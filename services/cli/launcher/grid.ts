/**
 * One grid of a local federation: its grid manager, its storage servers
 * (keys created once and reused, certificates re-issued each run), and a
 * first client account with its client.json. Everything lives under
 * DIR/<grid name>/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../../libs/crypto/index.js';
import { loadOrCreateKeyFile, setOperatorAddress, writeCertificateFile, encodeCertificateBase64 } from '../../../libs/auth/index.js';
import { writeJsonAtomic, readJsonObjectIfPresent } from '../../../libs/config/index.js';
import { writeClientConfig, type ClientConfig } from '../../../libs/client/index.js';
import { DEFAULT_K, DEFAULT_N, DEFAULT_HAPPY, DEFAULT_SEGMENT_SIZE } from '../../../libs/format/index.js';
import { connectGridManager, type GridManagerConnection } from '../../../libs/grid/index.js';
import { initGridManager, loadAdminIdentity, type AdminIdentity } from '../../grid-manager/index.js';
import { waitFor, type Supervisor } from './supervisor.js';
import type { LaunchedNats } from './nats.js';
import type { NatsCredentials } from '../../../libs/events/index.js';

export interface GridPlan {
  name: string;
  areaCode: string;
  servers: number;
}

export interface LaunchedGrid {
  plan: GridPlan;
  dir: string;
  gridManagerAddress: string;
  gridManagerPublicKey: string;
  admin: AdminIdentity;
  /** The grid's nats-server, nats://127.0.0.1:PORT (grid manager and gateway configs' `nats`). */
  natsUrl: string;
  /** Its user and password (in the same configs). */
  natsCredentials: NatsCredentials;
  /** Admin connection to the grid manager; closed by the caller. */
  manager: GridManagerConnection;
  clientConfigPath: string;
}

/** How often a local grid manager asks the clearinghouse for closed periods, and its repairer looks for due files. */
export const LOCAL_POLL_MS = 2_000;

/**
 * Starts the grid manager and storage servers of one grid and writes its
 * client.json. `nats`: the grid's nats-server, already running (launchNats);
 * `clearinghouse`: where its statements come from; `shareBackend`: each
 * storage server's (by name, e.g. storage-01), absent for files on disk.
 */
export async function launchGrid(
  sup: Supervisor,
  plan: GridPlan,
  nats: Pick<LaunchedNats, 'url' | 'credentials' | 'credentialsFile'>,
  clearinghouse: { address: string; publicKey: string },
  shareBackend?: (server: string) => Record<string, unknown>,
): Promise<LaunchedGrid> {
  const gridDir = join(sup.dir, plan.name);
  mkdirSync(gridDir, { recursive: true });
  const gmDir = join(gridDir, 'grid-manager');
  const init = initGridManager(gmDir, { areaCode: plan.areaCode, listen: '127.0.0.1:0' });
  // The grid manager consumes this grid's usage events (docs/events.md) and
  // fetches its settlement statements from the clearinghouse (docs/billing.md);
  // locally it looks for closed periods every 2 s rather than every minute.
  // Its repairer (docs/repair.md) looks for due files as often, and asks for
  // no more servers than the grid has, as the client config does.
  writeJsonAtomic(init.configPath, {
    ...readJsonObjectIfPresent(init.configPath),
    nats: { servers: [nats.url], credentials: nats.credentials },
    clearinghouse: { address: clearinghouse.address, publicKey: clearinghouse.publicKey },
    statementPollMs: LOCAL_POLL_MS,
    repairer: { pollMs: LOCAL_POLL_MS, happy: Math.min(DEFAULT_HAPPY, plan.servers) },
  });
  const [gm] = await sup.start([
    { role: 'grid-manager', name: `${plan.name}/grid-manager`, service: 'grid-manager', grid: plan.name, areaCode: plan.areaCode, configPath: init.configPath, dataDir: gmDir },
  ]);
  setOperatorAddress(init.adminIdentityPath, 'gridManager', gm!.address);
  const admin = loadAdminIdentity(init.adminIdentityPath);
  const gridManagerPublicKey = toHex(admin.gridManager.publicKey);
  const manager = connectGridManager(gm!.address, admin.identity);
  try {
    // Storage servers: key, approval (fresh certificate), config; then all processes start at once.
    const planned = [];
    for (let i = 1; i <= plan.servers; i++) {
      const name = `storage-${String(i).padStart(2, '0')}`;
      const sDir = join(gridDir, name);
      mkdirSync(sDir, { recursive: true });
      const key = loadOrCreateKeyFile(join(sDir, 'key.json'));
      writeCertificateFile(join(sDir, 'certificate.b64'), await manager.approve({ role: 'storage-server', subject: key.publicKey, name }));
      const configPath = join(sDir, 'config.json');
      writeJsonAtomic(configPath, {
        name,
        listen: '127.0.0.1:0',
        dataDir: './data',
        keyFile: './key.json',
        certificateFile: './certificate.b64',
        gridManager: { address: gm!.address, publicKey: gridManagerPublicKey },
        ...(shareBackend ? { shareBackend: shareBackend(name) } : {}),
      });
      planned.push({ role: 'storage-server', name: `${plan.name}/${name}`, service: 'storage', grid: plan.name, areaCode: plan.areaCode, configPath, dataDir: join(sDir, 'data') });
    }
    const storage = await sup.start(planned);

    // The grid's first client account.
    const clientKey = loadOrCreateKeyFile(join(gridDir, 'client-key.json'));
    const clientCert = await manager.approve({ role: 'client', subject: clientKey.publicKey, name: 'client' });
    const clientConfigPath = join(gridDir, 'client.json');
    const clientConfig: ClientConfig = {
      areaCode: plan.areaCode,
      gridManager: { address: gm!.address, publicKey: gridManagerPublicKey },
      publicKey: toHex(clientKey.publicKey),
      secretKey: toHex(clientKey.secretKey),
      certificate: encodeCertificateBase64(clientCert),
      encoding: { k: DEFAULT_K, n: DEFAULT_N, happy: Math.min(DEFAULT_HAPPY, plan.servers), segmentSize: DEFAULT_SEGMENT_SIZE },
    };
    writeClientConfig(clientConfigPath, clientConfig);

    // Ready when every storage server has announced this run's address in the signed directory.
    const addresses = storage.map((s) => s.address);
    await waitFor(
      async () => {
        const listed = new Set((await manager.getDirectory()).servers.map((s) => s.address));
        return addresses.every((a) => listed.has(a));
      },
      30_000,
      `the storage servers of grid ${plan.name} to announce`,
    );
    sup.grids.push({ name: plan.name, areaCode: plan.areaCode, natsUrl: nats.url, natsCredentialsFile: nats.credentialsFile, gridManagerPublicKey, clientConfig: clientConfigPath, adminIdentity: init.adminIdentityPath });
    return { plan, dir: gridDir, gridManagerAddress: gm!.address, gridManagerPublicKey, natsUrl: nats.url, natsCredentials: nats.credentials, admin, manager, clientConfigPath };
  } catch (err) {
    manager.close();
    throw err;
  }
}
