/**
 * Where the storage servers of a local federation keep their shares
 * (`intergrid up --share-backend disk|s3`, docs/storage.md "In `intergrid
 * up`"): files under each server's dataDir, or objects in one bucket of a
 * one-host Ceph cluster under DIR/ceph (launcher/ceph-rgw.ts), each server
 * under its own prefix `<grid>/<storage-NN>/`. The Ceph daemons are adopted
 * by the supervisor and stopped after every storage server.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { readJsonObjectIfPresent } from '../../../libs/config/index.js';
import { InvalidArgumentError, PreconditionError, UnavailableError } from '../../../libs/errors/index.js';
import type { ServiceChild } from '../child-process.js';
import { launchRgw, type CephDaemon, type CephPrograms, type S3Credentials } from './ceph-rgw.js';
import type { S3Record, Supervisor } from './supervisor.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const SHARE_BACKENDS = ['disk', 's3'] as const;
export type ShareBackendKind = (typeof SHARE_BACKENDS)[number];

/** The one bucket every storage server of `up --share-backend s3` shares. */
export const S3_BUCKET = 'intergrid';

/** @throws InvalidArgumentError unless `value` is disk or s3. */
export function parseShareBackend(value: string): ShareBackendKind {
  const kind = SHARE_BACKENDS.find((k) => k === value);
  if (!kind) throw new InvalidArgumentError(`--share-backend '${value}' must be one of: ${SHARE_BACKENDS.join(', ')}`);
  return kind;
}

/**
 * Refuses a dir whose storage servers were created with the other backend:
 * their shares are where that backend keeps them, and the other would not see them.
 * @throws PreconditionError naming one such server's config.
 */
export function checkDirShareBackend(dir: string, kind: ShareBackendKind): void {
  if (!existsSync(dir)) return;
  for (const grid of readdirSync(dir, { withFileTypes: true })) {
    if (!grid.isDirectory()) continue;
    for (const server of readdirSync(join(dir, grid.name), { withFileTypes: true })) {
      if (!server.isDirectory() || !/^storage-\d+$/.test(server.name)) continue;
      const configPath = join(dir, grid.name, server.name, 'config.json');
      const config = readJsonObjectIfPresent(configPath);
      if (!config) continue;
      const backend = config.shareBackend;
      const found = typeof backend === 'object' && backend !== null && (backend as { kind?: unknown }).kind === 's3' ? 's3' : 'disk';
      if (found !== kind) {
        throw new PreconditionError(
          `${dir}: its storage servers were created with --share-backend ${found} (${configPath}); with ${kind} their shares would not be found: run with --share-backend ${found}, or use a new --dir`,
        );
      }
    }
  }
}

/** The S3 store the storage servers use: the record for federation.json plus the keys for their configs. */
export interface S3Target extends S3Record {
  credentials: S3Credentials;
}

function serviceChild(d: CephDaemon): ServiceChild {
  const p = d.process;
  const exited = p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  return { role: 'ceph', name: `ceph/${d.name}`, address: d.address, pid: p.pid!, process: p, logFile: d.logFile, exited };
}

/** Creates the bucket unless it exists (it does on a rerun). @throws UnavailableError in one line. */
async function ensureBucket(target: S3Target): Promise<void> {
  const s3 = new S3Client({ endpoint: target.endpoint, region: target.region, forcePathStyle: true, credentials: { ...target.credentials } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: target.bucket }));
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
      throw new UnavailableError(`cannot create bucket '${target.bucket}' at ${target.endpoint}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  } finally {
    s3.destroy();
  }
}

/**
 * Starts (creating at the first run) the Ceph cluster under DIR/ceph, adopts
 * its daemons (role 'ceph', names ceph/mon.a, ceph/osd.0, ceph/rgw.a; stopped
 * last, radosgw first), creates the bucket and records it in `sup.s3`.
 */
export async function launchS3(sup: Supervisor, programs: CephPrograms): Promise<S3Target> {
  const rgw = await launchRgw({ dir: join(sup.dir, 'ceph'), programs, detached: true });
  const configPath = join(rgw.dir, 'ceph.conf');
  for (const d of rgw.daemons) sup.adopt(serviceChild(d), { role: 'ceph', name: `ceph/${d.name}`, grid: '-', areaCode: '-', configPath, dataDir: d.dataDir }, { stopLast: true });
  const target: S3Target = { endpoint: rgw.endpoint, region: rgw.region, bucket: S3_BUCKET, credentialsFile: rgw.credentialsFile, credentials: rgw.credentials };
  await ensureBucket(target);
  sup.s3 = { endpoint: target.endpoint, region: target.region, bucket: target.bucket, credentialsFile: target.credentialsFile };
  return target;
}

/** The `shareBackend` of storage server `server` (e.g. storage-01) of grid `grid`. */
export function s3ShareBackend(target: S3Target, grid: string, server: string): Record<string, unknown> {
  return {
    kind: 's3',
    endpoint: target.endpoint,
    bucket: target.bucket,
    region: target.region,
    prefix: `${grid}/${server}/`,
    forcePathStyle: true,
    accessKeyId: target.credentials.accessKeyId,
    secretAccessKey: target.credentials.secretAccessKey,
  };
}
