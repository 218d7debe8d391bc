/**
 * Storage servers keeping their shares in a real Ceph RGW (one-host cluster
 * from services/cli/launcher/ceph-rgw.ts; SigV4, quotas): every share byte
 * is an object in the bucket and none is on local disk; exact bytes for
 * sizes at segment edges and for 64 MiB; 7 of 10 servers down still exact;
 * RGW killed mid-upload loses nothing acknowledged and serves nothing
 * half-written; wrong credentials stop a server at start with one line; a
 * bucket over its quota answers RESOURCE_EXHAUSTED naming it.
 *
 * Ceph missing → the suite fails with the line saying how to install it
 * (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, ListObjectsV2Command, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { clientIdentity, connectGrid, downloadFile, openStoragePeer, uploadFile, type DownloadReport } from '../../libs/client/index.js';
import { storageIndexFromReadKey, type ReadCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { isIntergridError } from '../../libs/errors/index.js';
import { launchRgw, requireCeph, type RgwCluster } from '../../services/cli/launcher/ceph-rgw.js';
import { startStorageServer } from '../../services/storage/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SEG = 64 * 1024;
const BUCKET = 'intergrid-shares';
let rgwDir: string;
let rgw: RgwCluster;
let grid: LocalGrid;
let work: string;
let s3: S3Client;

const prefixOf = (i: number): string => `storage-${String(i + 1).padStart(2, '0')}/`;
const backendOf = (c: RgwCluster, i: number, bucket = BUCKET) => ({
  kind: 's3' as const,
  endpoint: c.endpoint,
  bucket,
  region: c.region,
  prefix: prefixOf(i),
  accessKeyId: c.credentials.accessKeyId,
  secretAccessKey: c.credentials.secretAccessKey,
  forcePathStyle: true,
});

beforeAll(async () => {
  rgwDir = mkdtempSync(join(tmpdir(), 'intergrid-s3-rgw-'));
  // Quotas are read without RGW's caches, so a test sees its own writes counted.
  rgw = await launchRgw({ dir: rgwDir, programs: requireCeph({ install: false }), settings: { 'rgw bucket quota ttl': 0, 'rgw user quota bucket sync interval': 0, 'rgw user quota sync interval': 0 } });
  grid = await startLocalGrid({ servers: 10, shareBackend: (i) => backendOf(rgw, i) });
  work = mkdtempSync(join(tmpdir(), 'intergrid-s3-'));
  s3 = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: { ...rgw.credentials } });
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  await grid?.stop();
  await rgw?.stop();
  for (const d of [work, rgwDir]) if (d) rmSync(d, { recursive: true, force: true });
}, 120_000);

async function upload(bytes: Uint8Array, name: string): Promise<ReadCap> {
  const path = join(work, name);
  writeFileSync(path, bytes);
  const conn = await connectGrid(grid.clientConfig);
  try {
    return (await uploadFile(conn, path, { encoding: { segmentSize: SEG } })).cap;
  } finally {
    conn.close();
  }
}

async function download(cap: ReadCap): Promise<{ bytes: Buffer; report: DownloadReport }> {
  const conn = await connectGrid(grid.clientConfig);
  try {
    const chunks: Buffer[] = [];
    const res = await downloadFile(conn, cap, async (c) => void chunks.push(Buffer.from(c)));
    return { bytes: Buffer.concat(chunks), report: res.report };
  } finally {
    conn.close();
  }
}

/** The share objects of a storage index in the bucket: server prefix → share numbers. */
async function objectsOf(storageIndex: Uint8Array): Promise<Map<string, number[]>> {
  const si = toHex(storageIndex);
  const out = new Map<string, number[]>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      const m = /^(storage-\d\d\/)shares\/([0-9a-f]{2})\/([0-9a-f]{32})\/(\d+)$/.exec(o.Key ?? '');
      if (m && m[3] === si) out.set(m[1]!, [...(out.get(m[1]!) ?? []), Number(m[4])]);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

function localShareFiles(): string[] {
  return grid.servers.flatMap((s) => {
    const dir = join(s.dataDir, 'shares');
    return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
  });
}

describe('S3 share backend on Ceph RGW', () => {
  it('stores every share as an object in the bucket (none on local disk) and returns exact bytes at segment edges', async () => {
    for (const size of [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 7]) {
      const data = randomBytes(size);
      const cap = await upload(data, `edge-${size}`);
      const got = await download(cap);
      expect(got.bytes.equals(data), `size ${size}`).toBe(true);
      const objects = await objectsOf(storageIndexFromReadKey(cap.readKey));
      expect([...objects.values()].flat().sort((a, b) => a - b), `size ${size}`).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(localShareFiles()).toEqual([]);
  }, 120_000);

  it('returns exact bytes of 64 MiB (multipart uploads of the larger shares), and with 7 of 10 servers down', async () => {
    const data = randomBytes(64 * 1024 * 1024);
    const path = join(work, 'big');
    writeFileSync(path, data);
    const conn = await connectGrid(grid.clientConfig);
    const cap = await uploadFile(conn, path, {}).then((r) => r.cap).finally(() => conn.close());
    expect((await download(cap)).bytes.equals(data)).toBe(true);

    const small = randomBytes(5 * SEG + 3);
    const smallCap = await upload(small, 'seven-down');
    const holders = await objectsOf(storageIndexFromReadKey(smallCap.readKey));
    // Stop 7 servers, leaving 3 that hold distinct shares.
    const keep = new Set([...holders.keys()].slice(0, 3).map((p) => grid.servers.findIndex((_, i) => prefixOf(i) === p)));
    const stopped = grid.servers.map((_, i) => i).filter((i) => !keep.has(i));
    for (const i of stopped) await grid.stopServer(i);
    try {
      expect((await download(smallCap)).bytes.equals(small)).toBe(true);
    } finally {
      for (const i of stopped) await grid.restartServer(i);
    }
  }, 240_000);

  it('loses nothing acknowledged and serves nothing half-written when RGW is killed mid-upload', async () => {
    const before = randomBytes(2 * SEG + 5);
    const kept = await upload(before, 'acknowledged');
    // 64 MiB: shares of ~21 MiB go up as multipart uploads; RGW is killed while one is open.
    const path = join(work, 'interrupted');
    writeFileSync(path, randomBytes(64 * 1024 * 1024));
    const radosgw = rgw.daemons.find((d) => d.name === 'rgw.a')!;
    const conn = await connectGrid(grid.clientConfig);
    let settled = false;
    const pending = uploadFile(conn, path, {}).then(
      (r) => ({ ok: true as const, cap: r.cap }),
      (err: unknown) => ({ ok: false as const, err }),
    ).finally(() => (settled = true));
    let sawMultipart = false;
    while (!settled && !sawMultipart) {
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET })).catch(() => undefined);
      sawMultipart = (open?.Uploads ?? []).length > 0;
      if (!sawMultipart) await new Promise((r) => setTimeout(r, 20));
    }
    radosgw.process.kill('SIGKILL');
    const outcome = await pending;
    conn.close();
    expect(sawMultipart).toBe(true);
    expect(outcome.ok).toBe(false);
    // Restart the cluster (same ports and data), then the servers (reconciled against the bucket, stale uploads aborted).
    await rgw.stop();
    rgw = await launchRgw({ dir: rgwDir, programs: requireCeph({ install: false }) });
    s3.destroy();
    s3 = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: { ...rgw.credentials } });
    for (let i = 0; i < grid.servers.length; i++) await grid.restartServer(i);

    expect((await download(kept)).bytes.equals(before)).toBe(true);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).toEqual([]);
    // Every object in the bucket is a share its server lists, at the object's size: nothing half-written is served or left unaccounted.
    const identity = clientIdentity(grid.clientConfig);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    for (const o of listed.Contents ?? []) {
      const m = /^(storage-\d\d\/)shares\/[0-9a-f]{2}\/([0-9a-f]{32})\/(\d+)$/.exec(o.Key ?? '');
      expect(m, o.Key).not.toBeNull();
      const server = grid.servers[grid.servers.findIndex((_, i) => prefixOf(i) === m![1])]!;
      const peer = openStoragePeer(identity, server);
      try {
        const shares = await peer.listShares(Buffer.from(m![2]!, 'hex'));
        expect(shares.get(Number(m![3])), o.Key).toBe(o.Size);
      } finally {
        peer.client.close();
      }
    }
  }, 240_000);

  it('stops a server at start with one line when the object store refuses its credentials', async () => {
    const s = grid.servers[0]!;
    const dataDir = mkdtempSync(join(tmpdir(), 'intergrid-s3-bad-'));
    try {
      const bad = { ...backendOf(rgw, 0), secretAccessKey: 'x'.repeat(40), prefix: 'bad-creds/' };
      const err = await startStorageServer({ ...s.config, listen: '127.0.0.1:0', dataDir, database: { client: 'sqlite3', filename: join(dataDir, 'db.sqlite') }, shareBackend: bad }).then(
        async (running) => {
          await running.stop();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(err).toBeDefined();
      expect(err!.message).not.toContain('\n');
      expect(err!.message).toContain(`s3 ${rgw.endpoint}/${BUCKET}/bad-creds/`);
      expect(err!.message).toMatch(/refuses these credentials \(SignatureDoesNotMatch|HTTP 403\)/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers RESOURCE_EXHAUSTED naming the bucket when its quota is exceeded', async () => {
    const bucket = 'intergrid-quota';
    const dataDir = mkdtempSync(join(tmpdir(), 'intergrid-s3-quota-'));
    const s = grid.servers[0]!;
    // A server of its own on a bucket limited to 256 KiB.
    const running = await startStorageServer({ ...s.config, listen: '127.0.0.1:0', dataDir, database: { client: 'sqlite3', filename: join(dataDir, 'db.sqlite') }, shareBackend: backendOf(rgw, 0, bucket) });
    try {
      await rgw.admin(['quota', 'set', '--quota-scope=bucket', `--bucket=${bucket}`, '--max-size=262144']);
      await rgw.admin(['quota', 'enable', '--quota-scope=bucket', `--bucket=${bucket}`]);
      const peer = openStoragePeer(clientIdentity(grid.clientConfig), { address: running.address, publicKey: running.publicKey, name: 'quota' });
      try {
        const si = randomBytes(16);
        const size = 1024 * 1024;
        await peer.allocateBuckets(si, [0], size);
        const w = peer.openShareWriter(si, 0, size);
        const err = await w
          .write(randomBytes(size))
          .then(() => w.finish())
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        expect(err).toBeDefined();
        expect(isIntergridError(err) && err.code).toBe('QUOTA');
        expect(err!.message).toContain(`'${bucket}' is over its quota`);
      } finally {
        peer.client.close();
      }
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
