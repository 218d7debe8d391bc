/**
 * A one-host Ceph cluster serving S3 (Ceph's RADOS gateway), for storage
 * servers that keep their shares in a bucket (docs/storage.md "S3
 * backend"): `intergrid up --share-backend s3` and the tests. Debian's
 * packages (radosgw, ceph-mon, ceph-osd): one monitor, one OSD (BlueStore
 * on a sparse file in the run's directory, so objects survive a restart),
 * one radosgw (beast) on a loopback port, cephx between the daemons, SigV4
 * for S3 clients. Everything lives under DIR:
 *
 *   DIR/ceph.conf            rewritten on every start
 *   DIR/state.json           fsid, ports, OSD uuid (chosen at the first start, kept)
 *   DIR/s3-credentials.json  the S3 user's access key and secret (mode 0600)
 *   DIR/keyring, mon.keyring, osd/, mon/, rgw/, run/, log/
 *
 * The first start creates the cluster (monmap, keys, mon and OSD mkfs, the
 * S3 user); later starts reuse it on the same ports (the monitor's address
 * is part of its map). Daemons run in the foreground as children of the
 * caller, stopped with SIGTERM (radosgw, then the OSD, then the monitor).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { readJsonObjectIfPresent, writeJsonAtomic } from '../../../libs/config/index.js';
import { randomBytes, toHex } from '../../../libs/crypto/index.js';
import { PreconditionError, UnavailableError } from '../../../libs/errors/index.js';
import { freePort, portFree } from '../../../libs/net/index.js';
import { aptInstall, findBinary } from './debian-binary.js';

const run = promisify(execFile);

/** The Debian packages and the programs of theirs the cluster needs. */
export const CEPH_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'] as const;
const PROGRAMS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph-authtool', 'monmaptool', 'ceph'] as const;
type Program = (typeof PROGRAMS)[number];
export type CephPrograms = Record<Program, string>;

/** The one line printed when Ceph is missing and cannot be installed here. */
export const CEPH_MISSING = "Ceph's S3 gateway not found: install it with 'sudo apt-get install --no-install-recommends radosgw ceph-mon ceph-osd' (Debian/Ubuntu)";

/** The Ceph programs, or undefined when any is missing. */
export function findCeph(): CephPrograms | undefined {
  const found: Partial<CephPrograms> = {};
  for (const p of PROGRAMS) {
    const path = findBinary(p);
    if (!path) return undefined;
    found[p] = path;
  }
  return found as CephPrograms;
}

/**
 * The Ceph programs; when missing and running as root with apt-get, installs
 * Debian's packages first (`install: false` never installs).
 * @throws PreconditionError with CEPH_MISSING otherwise.
 */
export function requireCeph(opts: { install?: boolean } = {}): CephPrograms {
  const found = findCeph();
  if (found) return found;
  if ((opts.install ?? true) && aptInstall(CEPH_PACKAGES)) {
    const after = findCeph();
    if (after) return after;
  }
  throw new PreconditionError(CEPH_MISSING);
}

/** The S3 user's keys (DIR/s3-credentials.json). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RgwCluster {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** The region S3 clients sign for (RGW accepts any; this is the default zonegroup's API name). */
  region: string;
  credentials: S3Credentials;
  credentialsFile: string;
  dir: string;
  /** The daemons in start order (mon.a, osd.0, rgw.a), for a supervisor to adopt; address '' when it has no one port (the OSD). */
  daemons: CephDaemon[];
  /** Runs radosgw-admin against this cluster (e.g. quotas); resolves with its stdout. */
  admin(args: readonly string[]): Promise<string>;
  /** Stops the daemons (radosgw, OSD, monitor); resolves when they exited. */
  stop(): Promise<void>;
}

export interface CephDaemon {
  name: string;
  process: ChildProcess;
  logFile: string;
  address: string;
  dataDir: string;
}

export interface RgwOptions {
  dir: string;
  programs?: CephPrograms;
  /** OSD file size (sparse; default 20 GiB). */
  osdBytes?: number;
  timeoutMs?: number;
  /** Extra [global] settings (e.g. quota cache times in tests). */
  settings?: Record<string, string | number>;
  /**
   * Daemons in a process group of their own, so a terminal's Ctrl-C reaches
   * only the caller, which stops them after whatever uses them (`intergrid up`).
   */
  detached?: boolean;
}

const stateSchema = z.object({
  fsid: z.string().uuid(),
  monPort: z.number().int().min(1).max(65535),
  rgwPort: z.number().int().min(1).max(65535),
  osdUuid: z.string().uuid(),
  created: z.boolean(),
});
type State = z.infer<typeof stateSchema>;

const credentialsSchema = z.object({ accessKeyId: z.string().min(16), secretAccessKey: z.string().min(32) });

/** A port recorded by an earlier run must still be free: the monitor's address is in its map. */
async function requireFree(port: number, what: string): Promise<void> {
  if (!(await portFree(port))) {
    throw new UnavailableError(`the Ceph ${what} port 127.0.0.1:${port} recorded at the first start is taken: free it, or remove the cluster's directory to start a new (empty) one`);
  }
}

function conf(dir: string, s: State, osdBytes: number, extra: Record<string, string | number>): string {
  const lines = [
    '# written by intergrid (services/cli/launcher/ceph-rgw.ts); rewritten on every start',
    '[global]',
    `fsid = ${s.fsid}`,
    `mon host = v2:127.0.0.1:${s.monPort}`,
    'mon initial members = a',
    'auth cluster required = cephx',
    'auth service required = cephx',
    'auth client required = cephx',
    'ms bind ipv6 = false',
    'ms bind msgr1 = false',
    'osd pool default size = 1',
    'osd pool default min size = 1',
    'osd pool default pg num = 8',
    'osd pool default pgp num = 8',
    'mon allow pool size one = true',
    'mon max pg per osd = 1000',
    'osd crush chooseleaf type = 0',
    `run dir = ${join(dir, 'run')}`,
    `admin socket = ${join(dir, 'run')}/$name.asok`,
    `log file = ${join(dir, 'log')}/$name.log`,
    `keyring = ${join(dir, 'keyring')}`,
    `mon data = ${join(dir, 'mon')}/$cluster-$id`,
    `osd data = ${join(dir, 'osd')}/$cluster-$id`,
    'osd objectstore = bluestore',
    'bluestore block create = true',
    `bluestore block size = ${osdBytes}`,
    'bluestore fsck on mkfs = false',
    'osd memory target = 939524096',
    ...Object.entries(extra).map(([k, v]) => `${k} = ${v}`),
    '[mon]',
    `keyring = ${join(dir, 'mon.keyring')}`,
    '[osd]',
    `keyring = ${join(dir, 'osd')}/$cluster-$id/keyring`,
    '[client.rgw.a]',
    `rgw frontends = beast endpoint=127.0.0.1:${s.rgwPort}`,
    `rgw data = ${join(dir, 'rgw')}`,
    `keyring = ${join(dir, 'rgw', 'keyring')}`,
    '',
  ];
  return lines.join('\n');
}

/**
 * Starts (creating at the first start) the cluster in `opts.dir`; resolves
 * once radosgw answers HTTP and the S3 user exists.
 * @throws PreconditionError when Ceph is missing; UnavailableError naming
 *   the log file when a daemon exits or does not start in time.
 */
export async function launchRgw(opts: RgwOptions): Promise<RgwCluster> {
  const bin = opts.programs ?? requireCeph();
  const dir = opts.dir;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const until = Date.now() + timeoutMs;
  for (const d of ['mon', 'osd/ceph-0', 'rgw', 'run', 'log']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const statePath = join(dir, 'state.json');
  const prior = stateSchema.safeParse(readJsonObjectIfPresent(statePath));
  let state: State;
  if (prior.success && prior.data.created) {
    state = prior.data;
    await requireFree(state.monPort, 'monitor');
    await requireFree(state.rgwPort, 'S3 gateway');
  } else {
    // A first start that stopped half-way leaves nothing worth keeping.
    for (const d of ['mon', 'osd', 'rgw']) rmSync(join(dir, d), { recursive: true, force: true });
    for (const d of ['mon', 'osd/ceph-0', 'rgw']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    state = { fsid: randomUUID(), monPort: await freePort(), rgwPort: await freePort(), osdUuid: randomUUID(), created: false };
  }
  const confPath = join(dir, 'ceph.conf');
  writeFileSync(confPath, conf(dir, state, opts.osdBytes ?? 20 * 1024 ** 3, opts.settings ?? {}), { mode: 0o600 });
  const c = ['-c', confPath];
  const tool = async (program: Program, args: readonly string[]): Promise<string> => {
    try {
      return (await run(bin[program], [...args], { timeout: Math.max(5_000, until - Date.now()), maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new UnavailableError(`ceph: ${program} ${args.filter((a) => a !== confPath && a !== '-c').slice(0, 4).join(' ')} failed: ${(e.stderr || e.message).trim().split('\n').slice(-2).join(' ')}`);
    }
  };

  const daemons: RgwCluster['daemons'] = [];
  const start = (name: string, program: Program, args: readonly string[], address: string, dataDir: string): CephDaemon => {
    const logFile = join(dir, 'log', `${name}.out`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(bin[program], ['-f', ...c, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const d: CephDaemon = { name, process: child, logFile, address, dataDir };
    daemons.push(d);
    return d;
  };
  const stop = async (): Promise<void> => {
    for (const d of [...daemons].reverse()) {
      if (d.process.exitCode !== null || d.process.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => d.process.once('exit', () => resolve()));
      d.process.kill('SIGTERM');
      const killer = setTimeout(() => d.process.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  const alive = (d: CephDaemon): void => {
    if (d.process.exitCode !== null || d.process.signalCode !== null) {
      throw new UnavailableError(`ceph ${d.name} exited (${d.process.exitCode ?? d.process.signalCode}) before the S3 gateway was ready (logs: ${join(dir, 'log')})`);
    }
  };

  try {
    if (!state.created) {
      const adminCaps = ['--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *'];
      rmSync(join(dir, 'mon.keyring'), { force: true });
      rmSync(join(dir, 'keyring'), { force: true });
      await tool('ceph-authtool', ['--create-keyring', join(dir, 'mon.keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
      await tool('ceph-authtool', ['--create-keyring', join(dir, 'keyring'), '--gen-key', '-n', 'client.admin', ...adminCaps]);
      await tool('ceph-authtool', [join(dir, 'mon.keyring'), '--import-keyring', join(dir, 'keyring')]);
      await tool('monmaptool', ['--create', '--clobber', '--addv', 'a', `[v2:127.0.0.1:${state.monPort}]`, '--fsid', state.fsid, join(dir, 'monmap')]);
      await tool('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', join(dir, 'mon.keyring')]);
    }
    const mon = start('mon.a', 'ceph-mon', ['-i', 'a'], `127.0.0.1:${state.monPort}`, join(dir, 'mon', 'ceph-a'));
    const ceph = (args: readonly string[]) => tool('ceph', [...c, '--connect-timeout', '30', ...args]);
    if (!state.created) {
      const id = (await ceph(['osd', 'new', state.osdUuid])).trim();
      if (id !== '0') throw new UnavailableError(`ceph: a new cluster gave its first OSD the id ${id}, not 0`);
      const osdKeyring = join(dir, 'osd', 'ceph-0', 'keyring');
      await tool('ceph-authtool', ['--create-keyring', osdKeyring, '--gen-key', '-n', 'osd.0']);
      await ceph(['auth', 'add', 'osd.0', 'osd', 'allow *', 'mon', 'allow profile osd', '-i', osdKeyring]);
      await tool('ceph-osd', [...c, '-i', '0', '--mkfs', '--osd-uuid', state.osdUuid]);
      const rgwKey = await ceph(['auth', 'get-or-create', 'client.rgw.a', 'mon', 'allow rw', 'osd', 'allow rwx']);
      writeFileSync(join(dir, 'rgw', 'keyring'), rgwKey, { mode: 0o600 });
    }
    alive(mon);
    const osd = start('osd.0', 'ceph-osd', ['-i', '0'], '', join(dir, 'osd', 'ceph-0'));
    const rgw = start('rgw.a', 'radosgw', ['-n', 'client.rgw.a'], `127.0.0.1:${state.rgwPort}`, join(dir, 'rgw'));
    const endpoint = `http://127.0.0.1:${state.rgwPort}`;
    for (;;) {
      for (const d of [mon, osd, rgw]) alive(d);
      const answered = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) }).then(
        () => true,
        () => false,
      );
      if (answered) break;
      if (Date.now() > until) throw new UnavailableError(`the Ceph S3 gateway did not answer at ${endpoint} within ${timeoutMs} ms (logs: ${join(dir, 'log')})`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const credentialsFile = join(dir, 's3-credentials.json');
    const admin = (args: readonly string[]) => tool('radosgw-admin', [...c, ...args]);
    let credentials: S3Credentials;
    const kept = credentialsSchema.safeParse(readJsonObjectIfPresent(credentialsFile));
    if (state.created && kept.success) {
      credentials = kept.data;
    } else {
      credentials = { accessKeyId: `IG${toHex(randomBytes(9)).toUpperCase()}`, secretAccessKey: toHex(randomBytes(24)) };
      await admin(['user', 'create', '--uid=intergrid', '--display-name=intergrid', `--access-key=${credentials.accessKeyId}`, `--secret-key=${credentials.secretAccessKey}`]);
      writeJsonAtomic(credentialsFile, credentials, 0o600);
      state = { ...state, created: true };
      writeJsonAtomic(statePath, state, 0o644);
    }
    return { endpoint, region: 'us-east-1', credentials, credentialsFile, dir, daemons, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
