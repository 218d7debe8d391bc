/**
 * Storage server RPCs on a real server: round trips, visibility, size
 * checks, quota, input validation and roles — on SQLite and PostgreSQL
 * (test/fixtures/database-backends.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { StorageFixture, patternBytes, storageIndex, type StoragePeerForTests } from './storage-fixture.js';
import { READ_CHUNK_BYTES } from '../../../services/storage/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { fromServiceError } from '../../../libs/rpc/index.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

let f: StorageFixture;
let client: StoragePeerForTests;


function incomingFiles(): string[] {
  const dir = join(f.dataDir, 'incoming');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((si) => readdirSync(join(dir, si)).map((n) => join(si, n)));
}

for (const backend of databaseBackends('storage-server')) describe(`storage server on ${backend.name}`, () => {
  beforeAll(async () => {
    await backend.setup();
    f = new StorageFixture({ database: await backend.fresh() });
    await f.start();
    client = f.client(f.identity('client', undefined, { quota_bytes: 10 * 1024 * 1024 }));
  }, BACKEND_SETUP_MS);
  afterAll(async () => {
    await f?.cleanup();
    await backend.teardown();
  });

  it('round-trips a share through allocate, write, list and a multi-range read', async () => {
    const si = storageIndex(1);
    const bytes = patternBytes(700 * 1024 + 13, 7);
    const alloc = await client.allocate(si, [0, 1], bytes.length);
    expect(alloc.allocated).toEqual([0, 1]);
    expect(alloc.alreadyHave).toEqual([]);
    const ack = await client.write(si, 0, bytes, { chunkSize: 100_000 });
    expect(ack.bytesWritten).toBe(bytes.length);
    expect(ack.leaseExpiresAtMs).toBeGreaterThan(Date.now());
    expect((await client.list(si)).shares).toEqual([{ shareNumber: 0, size: bytes.length }]);
    const ranges = [
      { offset: 0, length: 10 },
      { offset: 250_000, length: 300_000 },
      { offset: bytes.length - 5, length: 5 },
      { offset: 17, length: 0 },
    ];
    const got = await client.read(si, 0, ranges);
    ranges.forEach((r, i) => expect(Buffer.compare(got[i]!, Buffer.from(bytes.subarray(r.offset, r.offset + r.length)))).toBe(0));
  });

  it('streams reads in chunks of at most 256 KiB with absolute offsets', async () => {
    const si = storageIndex(1);
    const chunks = await client.readChunks(si, 0, [{ offset: 1, length: 600 * 1024 }]);
    expect(chunks.length).toBeGreaterThan(2);
    let expected = 1;
    for (const c of chunks) {
      expect(c.data.length).toBeLessThanOrEqual(READ_CHUNK_BYTES);
      expect(c.offset).toBe(expected);
      expected += c.data.length;
    }
  });

  it('returns complete shares in already_have and does not allocate them again', async () => {
    const si = storageIndex(1);
    const alloc = await client.allocate(si, [0, 1, 2], 700 * 1024 + 13);
    expect(alloc.alreadyHave).toEqual([0]);
    expect(alloc.allocated).toEqual([1, 2]);
  });

  it('does not show a share before its stream is closed', async () => {
    const si = storageIndex(2);
    const bytes = patternBytes(5000, 2);
    await client.allocate(si, [3], bytes.length);
    const { stream, done } = client.openWrite(si, 3, bytes.length);
    stream.write({ data: bytes });
    // Every byte has been sent but the stream is still open: not acknowledged, not visible.
    expect((await client.list(si)).shares).toEqual([]);
    await expect(client.read(si, 3, [{ offset: 0, length: 1 }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    stream.end();
    await done;
    expect((await client.list(si)).shares).toEqual([{ shareNumber: 3, size: bytes.length }]);
  });

  it('rejects more bytes than share_size with INVALID_ARGUMENT and removes the temp file', async () => {
    const si = storageIndex(3);
    await client.allocate(si, [0], 100);
    await expect(client.write(si, 0, patternBytes(101), { declaredSize: 100 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('more than share_size 100'),
    });
    expect((await client.list(si)).shares).toEqual([]);
    expect(incomingFiles()).toEqual([]);
  });

  it('rejects a stream that ends short of share_size with INVALID_ARGUMENT and removes the temp file', async () => {
    const si = storageIndex(3);
    await client.allocate(si, [1], 100);
    await expect(client.write(si, 1, patternBytes(99), { declaredSize: 100 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('99 of share_size 100'),
    });
    expect((await client.list(si)).shares).toEqual([]);
    expect(incomingFiles()).toEqual([]);
  });

  it.each([
    ['a stream whose first message is data', [{ data: Buffer.from('x') }], 'must be the header'],
    ['a second header', [{ header: { storageIndex: storageIndex(14), shareNumber: 0, shareSize: 10 } }, { header: { storageIndex: storageIndex(14), shareNumber: 0, shareSize: 10 } }], 'only the first'],
    ['an empty stream', [], 'ended before its header'],
  ])('rejects %s with INVALID_ARGUMENT', async (_name, messages, text) => {
    await client.allocate(storageIndex(14), [0], 10);
    const outcome = new Promise((resolve, reject) => {
      const s = client.raw.WriteShare((err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
      for (const m of messages) s.write(m);
      s.end();
    });
    await expect(outcome).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(text) });
  });

  it('rejects a write without an allocation with FAILED_PRECONDITION', async () => {
    await expect(client.write(storageIndex(4), 0, patternBytes(10))).rejects.toMatchObject({ code: 'PRECONDITION' });
  });

  it('rejects a header whose size differs from the allocation', async () => {
    const si = storageIndex(5);
    await client.allocate(si, [0], 100);
    await expect(client.write(si, 0, patternBytes(50))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('allocated size 100'),
    });
  });

  it('rejects an allocation beyond the quota with RESOURCE_EXHAUSTED naming quota, usage and request', async () => {
    const small = f.client(f.identity('client', undefined, { quota_bytes: 1000 }));
    const si = storageIndex(6);
    await small.allocate(si, [0], 400);
    const err = await small.allocate(storageIndex(7), [0, 1], 400).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUOTA' });
    const message = (err as Error).message;
    expect(message).toContain('quota 1000 bytes');
    expect(message).toContain('uses 400 bytes');
    expect(message).toContain('requested 800 more bytes');
  });

  it('counts a retried allocation once against the quota', async () => {
    const small = f.client(f.identity('client', undefined, { quota_bytes: 1000 }));
    const si = storageIndex(8);
    await small.allocate(si, [0, 1], 400);
    await expect(small.allocate(si, [0, 1], 400)).resolves.toMatchObject({ allocated: [0, 1] });
  });

  it('concurrent allocations by one account never exceed its quota together', async () => {
    const small = f.client(f.identity('client', undefined, { quota_bytes: 4000 }));
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => small.allocate(storageIndex(500 + i), [0], 400)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'QUOTA' });
  });

  it('frees reserved space on AbortShares', async () => {
    const small = f.client(f.identity('client', undefined, { quota_bytes: 1000 }));
    await small.allocate(storageIndex(9), [0, 1], 500);
    await small.abort(storageIndex(9), []);
    await expect(small.allocate(storageIndex(10), [0, 1], 500)).resolves.toMatchObject({ allocated: [0, 1] });
  });

  it.each([
    ['a 15-byte storage index', () => client.allocate(new Uint8Array(15), [0], 10), 'storage_index must be 16 bytes'],
    ['share number 256', () => client.allocate(storageIndex(11), [256], 10), 'share_numbers entry'],
    ['a duplicate share number', () => client.allocate(storageIndex(11), [1, 1], 10), 'twice'],
    ['no share numbers', () => client.allocate(storageIndex(11), [], 10), 'must not be empty'],
    ['share size 0', () => client.allocate(storageIndex(11), [0], 0), 'share_size'],
    ['a read past the end', () => client.read(storageIndex(1), 0, [{ offset: 700 * 1024, length: 100 }]), 'outside share 0'],
    ['a read with no ranges', () => client.read(storageIndex(1), 0, []), 'at least one byte range'],
  ])('rejects %s with INVALID_ARGUMENT', async (_name, op, text) => {
    await expect(op()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(text) });
  });

  it('rejects a caller whose role the method does not allow', async () => {
    const contactPoint = f.client(f.identity('contact-point'));
    await expect(contactPoint.allocate(storageIndex(12), [0], 10)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('lets a contact point list and read shares', async () => {
    const contactPoint = f.client(f.identity('contact-point'));
    expect((await contactPoint.list(storageIndex(1))).shares).toHaveLength(1);
    const [b] = await contactPoint.read(storageIndex(1), 0, [{ offset: 0, length: 4 }]);
    expect(b!.length).toBe(4);
  });

  it('rejects a certificate from an issuer other than the grid manager', async () => {
    const other = f.client(f.identity('client', undefined, {}, f.serverKey));
    await expect(other.list(storageIndex(1))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('streams a large read correctly to a consumer that pauses (backpressure)', async () => {
    const si = storageIndex(13);
    const bytes = patternBytes(5 * 1024 * 1024 + 3, 13);
    await client.allocate(si, [0], bytes.length);
    await client.write(si, 0, bytes, { chunkSize: 1024 * 1024 });
    const got = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const s = client.raw.ReadShare({ storageIndex: si, shareNumber: 0, ranges: [{ offset: 0, length: bytes.length }] });
      s.on('data', (c: { data: Buffer }) => {
        parts.push(c.data);
        // Stop reading for a moment every few chunks so the server's writes report a full buffer.
        if (parts.length % 4 === 0) {
          s.pause();
          setTimeout(() => s.resume(), 20);
        }
      });
      s.on('error', reject);
      s.on('end', () => resolve(Buffer.concat(parts)));
    });
    expect(Buffer.compare(got, Buffer.from(bytes))).toBe(0);
  });

  it('lets an admin read Stats', async () => {
    const admin = f.client(f.identity('admin'));
    await expect(admin.stats()).resolves.toMatchObject({ accountQuotaBytes: 0 });
  });

  it('reports the caller usage and quota in Stats', async () => {
    const stats = await client.stats();
    expect(stats.accountQuotaBytes).toBe(10 * 1024 * 1024);
    expect(stats.accountBytes).toBe(700 * 1024 + 13 + 5000 + 5 * 1024 * 1024 + 3);
    expect(stats.shares).toBeGreaterThanOrEqual(2);
    expect(stats.availableBytes).toBeGreaterThan(0);
  });

  it('records AdviseCorrupt reports', async () => {
    const before = (await client.stats()).corruptReports;
    await new Promise<void>((resolve, reject) =>
      client.raw.AdviseCorrupt({ storageIndex: storageIndex(1), shareNumber: 0, reason: 'block hash mismatch' }, (err) => (err ? reject(err) : resolve())),
    );
    expect((await client.stats()).corruptReports).toBe(before + 1);
  });

  it('keeps share files under shares/<si[0:2]>/<si>/<shnum>', () => {
    const si = toHex(storageIndex(1));
    expect(existsSync(join(f.dataDir, 'shares', si.slice(0, 2), si, '0'))).toBe(true);
  });
});
