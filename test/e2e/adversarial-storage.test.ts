/**
 * Adversarial storage on real grids (grid manager + storage servers on
 * loopback, real databases and share files; issue 11 items 7 and 9):
 *
 * - a junk-share planter: a second client account that knows the honest
 *   client's convergence secret (so it can compute the storage index of a
 *   file it expects the honest client to upload) plants 1-byte, then
 *   right-sized junk shares under that storage index on every server first;
 *   the honest put succeeds, reports none of the junk as already stored, and
 *   get returns the exact bytes; junk planted afterwards is refused;
 * - a slow reader: a client that opens ReadShare streams and never reads
 *   holds its own slots only (its next stream is RESOURCE_EXHAUSTED), the
 *   honest client is served meanwhile, and the server ends the stalled
 *   streams within the configured deadline;
 * - a slow gateway at a real contact point on that grid: the same for
 *   FetchSegments (per-gateway limit, stall deadline).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connectGrid, convergentFileKey, uploadFile, downloadFile, checkFile, type GridConnection } from '../../libs/client/index.js';
import { formatCap, storageIndexFromReadKey, toVerifyCap, withAreaCode, type ReadCap } from '../../libs/caps/index.js';
import { planFile } from '../../libs/format/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { pino } from 'pino';
import { securedClient, issueCertificate, writeCertificateFile, writeKeyFile, type Identity } from '../../libs/auth/index.js';
import { contactPointProto } from '../../libs/rpc/index.js';
import type { ContactPointClient } from '../../libs/rpc/proto-types.js';
import { CONTACT_POINT_MESSAGE_LIMIT, resolveContactPointConfig, startContactPoint, type RunningContactPoint } from '../../services/contact-point/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';
import { plantShares } from '../unit/storage/junk-planter.js';

async function get(conn: GridConnection, cap: ReadCap): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await downloadFile(conn, cap, async (c) => void chunks.push(Buffer.from(c)));
  return Buffer.concat(chunks);
}

describe('junk-share planter', () => {
  let grid: LocalGrid;
  let work: string;
  let honest: GridConnection;
  let planter: GridConnection;
  const secret = toHex(nodeRandomBytes(32));

  beforeAll(async () => {
    grid = await startLocalGrid({ servers: 10 });
    work = mkdtempSync(join(tmpdir(), 'intergrid-adv-storage-'));
    honest = await connectGrid((await grid.addClient({ name: 'alice', convergenceSecret: secret })).config);
    planter = await connectGrid((await grid.addClient({ name: 'mallory', convergenceSecret: secret })).config);
  });
  afterAll(async () => {
    honest?.close();
    planter?.close();
    await grid?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** What the planter computes for a file it expects alice to upload: its storage index and share size. */
  async function predict(path: string, size: number): Promise<{ si: Uint8Array; shareSize: number }> {
    const enc = honest.config.encoding;
    const layout = planFile(size, { k: enc.k, n: enc.n, segmentSize: enc.segmentSize });
    return { si: storageIndexFromReadKey(await convergentFileKey(secret, layout, path)), shareSize: layout.shareSize };
  }

  it.each([
    ['1-byte', (_: number) => 1],
    ['right-sized', (s: number) => s],
  ])('%s junk planted on every server before the honest put: the put succeeds and get is exact', async (name, junkSize) => {
    const data = nodeRandomBytes(2 * 1024 * 1024 + 77);
    const path = join(work, `doc-${name}`);
    writeFileSync(path, data);
    const { si, shareSize } = await predict(path, data.length);
    const n = honest.config.encoding.n;
    expect(await plantShares(planter, si, n, junkSize(shareSize))).toBe(n * grid.servers.length);

    const put = await uploadFile(honest, path);
    expect(toHex(put.storageIndex)).toBe(toHex(si));
    expect(put.alreadyStored).toEqual([]);
    expect(put.happiness).toBeGreaterThanOrEqual(honest.config.encoding.happy);
    expect((await get(honest, put.cap)).equals(data)).toBe(true);
    const check = await checkFile(honest, toVerifyCap(put.cap));
    expect(check.healthy).toBe(true);
  });

  it('junk planted after the honest put is refused where the honest shares are, and get stays exact', async () => {
    const data = nodeRandomBytes(300_000);
    const path = join(work, 'later');
    writeFileSync(path, data);
    const put = await uploadFile(honest, path);
    const n = honest.config.encoding.n;
    const planted = await plantShares(planter, put.storageIndex, n, planFile(data.length, honest.config.encoding).shareSize);
    // Each of the n honest shares refused the junk; only numbers a server did not hold took it.
    expect(planted).toBe(n * grid.servers.length - n);
    expect((await get(honest, put.cap)).equals(data)).toBe(true);
    // A second honest upload of the same file still recognises its own shares (dedup is not broken by the check).
    const again = await uploadFile(honest, path);
    expect(again.alreadyStored).toHaveLength(n);
  });
});

describe('slow reader', () => {
  const STALL_MS = 1500;
  /** Enough for an honest download's parallel reads of one server, small enough to fill in a test. */
  const LIMIT = 4;
  let grid: LocalGrid;
  let work: string;
  let honest: GridConnection;
  let slow: GridConnection;

  beforeAll(async () => {
    grid = await startLocalGrid({ servers: 3, encoding: { k: 2, n: 3, happy: 3 }, storageConfig: { streamStallMs: STALL_MS, maxStreamsPerCaller: LIMIT } });
    work = mkdtempSync(join(tmpdir(), 'intergrid-adv-slow-'));
    honest = await connectGrid(grid.clientConfig);
    slow = await connectGrid((await grid.addClient({ name: 'slow' })).config);
  });
  afterAll(async () => {
    honest?.close();
    slow?.close();
    await grid?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a client that never reads holds only its own slots, is cut off by the deadline, and others are served', async () => {
    const data = nodeRandomBytes(24 * 1024 * 1024);
    const path = join(work, 'big');
    writeFileSync(path, data);
    const put = await uploadFile(honest, path);
    const { shnum, server } = put.shares[0]!;
    const peer = slow.servers.find((s) => s.label === server)!;
    const shareSize = planFile(data.length, { k: 2, n: 3, segmentSize: honest.config.encoding.segmentSize }).shareSize;

    // LIMIT ReadShare streams that are never consumed: grpc-js fills its buffer, pauses the HTTP/2 stream, flow control stops the server.
    const started = Date.now();
    const stalled = Array.from({ length: LIMIT }, () => 0).map(
      () =>
        new Promise<grpc.ServiceError | 'ended'>((resolve) => {
          const s = peer.client.readShare({ storageIndex: put.storageIndex, shareNumber: shnum, ranges: [{ offset: 0, length: shareSize }] });
          s.pause();
          s.read(0);
          s.on('error', (e: grpc.ServiceError) => resolve(e));
          s.on('end', () => resolve('ended'));
        }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await expect(peer.readRanges(put.storageIndex, shnum, [{ offset: 0, length: 8 }])).rejects.toMatchObject({
      code: 'BUSY',
      message: expect.stringMatching(/too many storage streams.*limit 4 per caller/),
    });
    // The honest client reads the whole file, including from that server, while the slow one stalls.
    expect((await get(honest, put.cap)).equals(data)).toBe(true);

    for (const outcome of await Promise.all(stalled)) expect(outcome).not.toBe('ended');
    expect(Date.now() - started).toBeLessThan(STALL_MS + 1000 + 3000);
    // Its slots are free again.
    const [head] = await peer.readRanges(put.storageIndex, shnum, [{ offset: 0, length: 4 }]);
    expect(head).toHaveLength(4);
  });
});

describe('slow gateway at the contact point', () => {
  const STALL_MS = 1500;
  let grid: LocalGrid;
  let work: string;
  let cp: RunningContactPoint;
  const clients: grpc.Client[] = [];
  const clearinghouse = generateKeyPair();
  const gatewayOf = (): Identity => {
    const keyPair = generateKeyPair();
    const now = Date.now();
    const cert = issueCertificate(clearinghouse, { role: 'gateway-approval', subject: keyPair.publicKey, grid: '202', notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} });
    return { keyPair, certificates: [cert] };
  };
  const cpClient = (identity: Identity): ContactPointClient => {
    const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
    const c = securedClient<ContactPointClient>(Ctor, cp, identity, { channelOptions: { 'grpc.max_receive_message_length': CONTACT_POINT_MESSAGE_LIMIT } });
    clients.push(c);
    return c;
  };
  let transfers = 0;
  /** FetchSegments read to the end: the ciphertext bytes received, or the error. */
  const fetchAll = (identity: Identity, verifyCap: string): Promise<number | grpc.ServiceError> =>
    new Promise((resolve) => {
      let bytes = 0;
      const call = cpClient(identity).FetchSegments({ verifyCap, transferId: `adv-${++transfers}`, offset: 0, length: 0 });
      call.on('data', (c: { segment?: { ciphertext?: Buffer } }) => (bytes += c.segment?.ciphertext?.length ?? 0));
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('end', () => resolve(bytes));
    });

  beforeAll(async () => {
    grid = await startLocalGrid({ servers: 3, encoding: { k: 2, n: 3, happy: 3 } });
    work = mkdtempSync(join(tmpdir(), 'intergrid-adv-cp-'));
    const dir = join(grid.dir, 'contact-point');
    mkdirSync(dir, { recursive: true });
    const key = generateKeyPair();
    writeKeyFile(join(dir, 'key.json'), key);
    writeCertificateFile(join(dir, 'certificate.b64'), await grid.admin.approve({ role: 'contact-point', subject: key.publicKey, name: 'cp-1' }));
    const config = resolveContactPointConfig({
      listen: '127.0.0.1:0',
      areaCode: grid.areaCode,
      dataDir: dir,
      keyFile: join(dir, 'key.json'),
      certificateFile: join(dir, 'certificate.b64'),
      gridManager: { address: grid.gridManagerAddress, publicKey: grid.clientConfig.gridManager.publicKey },
      // Nothing listens there: registration keeps failing, harmlessly.
      clearinghouse: { address: '127.0.0.1:1', publicKey: toHex(clearinghouse.publicKey) },
      maxFetchesPerGateway: 1,
      streamStallMs: STALL_MS,
    });
    cp = await startContactPoint(config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await cp?.stop();
    await grid?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a gateway that never reads holds only its own slot, is cut off by the deadline, and other gateways are served', async () => {
    // More than a non-reading receiver can absorb before the contact point's write blocks:
    // the HTTP/2 stream window (4 MiB, libs/rpc/http2-settings.ts) plus grpc-js's 16 queued messages of a 1 MiB segment.
    const data = nodeRandomBytes(64 * 1024 * 1024);
    const path = join(work, 'big');
    writeFileSync(path, data);
    const conn = await connectGrid(grid.clientConfig);
    const put = await uploadFile(conn, path);
    conn.close();
    const vcap = formatCap(withAreaCode(toVerifyCap(put.cap), grid.areaCode));
    const slow = gatewayOf();

    const started = Date.now();
    const stalled = new Promise<grpc.ServiceError | 'ended'>((resolve) => {
      const call = cpClient(slow).FetchSegments({ verifyCap: vcap, transferId: 'slow-1', offset: 0, length: 0 });
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('end', () => resolve('ended'));
      call.once('data', () => call.pause());
    });
    await new Promise((r) => setTimeout(r, 500));
    const refused = await fetchAll(slow, vcap);
    expect(refused).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/too many FetchSegments calls.*limit 1 per caller/) });
    // Another gateway gets the whole file meanwhile.
    expect(await fetchAll(gatewayOf(), vcap)).toBe(data.length);
    expect(await stalled).not.toBe('ended');
    expect(Date.now() - started).toBeLessThan(STALL_MS + 1000 + 8000);
    // The slow gateway's slot is free again.
    expect(await fetchAll(slow, vcap)).toBe(data.length);
  }, 60_000);
});
