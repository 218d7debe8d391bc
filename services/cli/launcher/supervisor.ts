/**
 * The running set of service processes of a local federation and the record
 * of each (federation.json). Every child is registered the moment it has
 * started, so whatever fails later, `stop()` stops them all.
 */
import { dirname, join, resolve } from 'node:path';
import { readKeyFile } from '../../../libs/auth/index.js';
import { readJsonObjectIfPresent, writeJsonAtomic } from '../../../libs/config/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { tlsPinOf } from '../../../libs/tls/index.js';
import { startServiceChild, stopChildren, type ServiceChild } from '../child-process.js';

export interface ServiceRecord {
  role: string;
  name: string;
  grid: string;
  areaCode: string;
  address: string;
  /**
   * Its identity key (hex) and the SHA-256 pin of its TLS certificate's public
   * key (libs/tls), for intergrid services; compare the pin with what
   * `openssl s_client` shows for ADDRESS.
   */
  publicKey?: string;
  tlsPin?: string;
  /** Its Prometheus endpoint (GET /metrics), when it serves one. */
  metrics?: string;
  pid: number;
  dataDir: string;
  config: string;
  log: string;
}

/** Every `intergrid serve` process of a local federation serves /metrics on a loopback port of its own. */
export const LOCAL_METRICS_LISTEN = '127.0.0.1:0';

/** The identity key and TLS pin of the service whose config is at `configPath` (its keyFile, relative to the config). */
function serviceKeyOf(configPath: string): { publicKey: string; tlsPin: string } | undefined {
  const keyFile = readJsonObjectIfPresent(configPath)?.keyFile;
  if (typeof keyFile !== 'string') return undefined;
  const key = readKeyFile(resolve(dirname(configPath), keyFile)).publicKey;
  return { publicKey: toHex(key), tlsPin: tlsPinOf(key) };
}

/** Adds `metrics.listen` to a service config that has none (an operator's own setting is kept). */
function ensureMetricsListen(configPath: string): void {
  const config = readJsonObjectIfPresent(configPath);
  if (config && config.metrics === undefined) writeJsonAtomic(configPath, { ...config, metrics: { listen: LOCAL_METRICS_LISTEN } });
}

export interface GridRecord {
  name: string;
  areaCode: string;
  /** The grid's nats-server (usage events): nats://127.0.0.1:PORT. */
  natsUrl: string;
  /** Its credentials file (mode 0600), for `intergrid join --nats-credentials`. */
  natsCredentialsFile: string;
  gridManagerPublicKey: string;
  clientConfig: string;
  adminIdentity: string;
}

/** Where the storage servers keep their shares under `up --share-backend s3`. */
export interface S3Record {
  /** The S3 endpoint (the local Ceph cluster's radosgw): http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  /** One bucket; each storage server's objects under the prefix `<grid>/<storage-NN>/`. */
  bucket: string;
  /** The S3 user's access key and secret (mode 0600). */
  credentialsFile: string;
}

export interface FederationFile {
  version: 1;
  startedAtMs: number;
  grids: GridRecord[];
  services: ServiceRecord[];
  /** Present when the storage servers keep their shares in S3. */
  s3?: S3Record;
}

/** One service to start: `intergrid serve <service> --config <configPath>`. */
export interface PlannedService {
  role: string;
  /** e.g. "a/storage-01" */
  name: string;
  service: string;
  grid: string;
  areaCode: string;
  configPath: string;
  dataDir: string;
}

export class Supervisor {
  readonly children: ServiceChild[] = [];
  /** Stopped after every other child, one at a time, the last adopted first (the Ceph daemons the storage servers use). */
  readonly lastChildren: ServiceChild[] = [];
  readonly services: ServiceRecord[] = [];
  readonly grids: GridRecord[] = [];
  s3: S3Record | undefined;

  constructor(readonly dir: string) {}

  /** Starts the given services in parallel; every one that starts is kept even if another fails. */
  async start(planned: PlannedService[]): Promise<ServiceRecord[]> {
    for (const p of planned) ensureMetricsListen(p.configPath);
    const started = await Promise.allSettled(
      planned.map((p) =>
        startServiceChild({
          role: p.role,
          name: p.name,
          service: p.service,
          configPath: p.configPath,
          logFile: join(this.dir, 'logs', `${p.name.replace(/\//g, '-')}.log`),
        }),
      ),
    );
    const records: ServiceRecord[] = [];
    for (const [i, r] of started.entries()) {
      if (r.status !== 'fulfilled') continue;
      const p = planned[i]!;
      const child = r.value;
      this.children.push(child);
      const record: ServiceRecord = {
        role: p.role, name: p.name, grid: p.grid, areaCode: p.areaCode, address: child.address,
        ...serviceKeyOf(p.configPath),
        ...(child.metricsAddress ? { metrics: child.metricsAddress } : {}),
        pid: child.pid, dataDir: p.dataDir, config: p.configPath, log: child.logFile,
      };
      this.services.push(record);
      records.push(record);
    }
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return records;
  }

  /**
   * Registers a child started by other means (nats-server is not an
   * `intergrid serve` process), so it is recorded and stopped like the others
   * (`stopLast`: only after all the others have exited).
   */
  adopt(child: ServiceChild, p: Omit<PlannedService, 'service'>, opts: { stopLast?: boolean } = {}): ServiceRecord {
    (opts.stopLast ? this.lastChildren : this.children).push(child);
    const record: ServiceRecord = {
      role: p.role, name: p.name, grid: p.grid, areaCode: p.areaCode, address: child.address,
      pid: child.pid, dataDir: p.dataDir, config: p.configPath, log: child.logFile,
    };
    this.services.push(record);
    return record;
  }

  /** Writes DIR/federation.json (world-readable: it holds no secrets) and returns its path. */
  writeFederationFile(): string {
    const file: FederationFile = { version: 1, startedAtMs: Date.now(), grids: this.grids, services: this.services, ...(this.s3 ? { s3: this.s3 } : {}) };
    const path = join(this.dir, 'federation.json');
    writeJsonAtomic(path, file, 0o644);
    return path;
  }

  /** Stops every child (SIGTERM, SIGKILL after a grace period): all at once, then the `stopLast` ones in reverse order. */
  async stop(): Promise<void> {
    await stopChildren(this.children);
    for (const c of [...this.lastChildren].reverse()) await stopChildren([c]);
  }
}

/** Polls `check` until it is true; @throws naming `what` (and the last error) after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`);
}
