/**
 * Issue 11 item 7 on a real storage server: a share planted under someone
 * else's storage index (1 byte, right-sized junk, or a well-formed share of
 * another file) never passes for the honest share, and an honest share that
 * was there first is never lost. Shares are real CHK shares (FileEncoder).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import { FileEncoder, planFile, type FileLayout } from '../../../libs/format/index.js';
import { storageIndexFromReadKey } from '../../../libs/caps/index.js';
import { shareProblem } from '../../../services/storage/share-check.js';
import { openFileReader } from '../../../services/storage/incoming-share.js';
import { StorageFixture, patternBytes, type StoragePeerForTests } from './storage-fixture.js';

/** Every share of a small file, encoded for real. */
function encodeFile(data: Uint8Array, readKey: Uint8Array): { layout: FileLayout; shares: Uint8Array[] } {
  const layout = planFile(data.length, { k: 2, n: 3, segmentSize: 1024 });
  const enc = new FileEncoder(readKey, layout);
  const parts: Uint8Array[][] = Array.from({ length: 3 }, (_, s) => [enc.shareHeader(s)]);
  for (let i = 0; i < layout.numSegments; i++) {
    const blocks = enc.encodeSegment(data.subarray(i * 1024, Math.min(data.length, (i + 1) * 1024)));
    blocks.forEach((b, s) => parts[s]!.push(b));
  }
  const fin = enc.finish();
  return { layout, shares: parts.map((p, s) => Buffer.concat([...p, fin.trailer(s)])) };
}

describe('storage server: conflicting shares', () => {
  const fx = new StorageFixture();
  let honest: StoragePeerForTests;
  let mallory: StoragePeerForTests;
  let seed = 0;
  /** A fresh file: its read key, storage index and honest shares. */
  const file = () => {
    seed++;
    const readKey = patternBytes(32, 500 + seed);
    const enc = encodeFile(patternBytes(3000 + seed, seed), readKey);
    return { si: storageIndexFromReadKey(readKey), ...enc };
  };
  const readAll = async (si: Uint8Array, size: number) => (await honest.read(si, 0, [{ offset: 0, length: size }]))[0]!;

  beforeAll(async () => {
    await fx.start();
    honest = fx.client(fx.identity('client', generateKeyPair()));
    mallory = fx.client(fx.identity('client', generateKeyPair()));
  });
  afterAll(() => fx.cleanup());

  it('a 1-byte share planted first is not reported as held; the honest upload replaces it', async () => {
    const f = file();
    const share = f.shares[0]!;
    await mallory.allocate(f.si, [0], 1);
    await mallory.write(f.si, 0, new Uint8Array([0x42]));
    const alloc = await honest.allocate(f.si, [0], share.length);
    expect(alloc.alreadyHave).toEqual([]);
    expect(alloc.allocated).toEqual([0]);
    await honest.write(f.si, 0, share);
    expect((await honest.list(f.si)).shares).toEqual([{ shareNumber: 0, size: share.length }]);
    expect(Buffer.compare(await readAll(f.si, share.length), Buffer.from(share))).toBe(0);
    const held = await openFileReader(`${fx.dataDir}/shares/${Buffer.from(f.si).toString('hex').slice(0, 2)}/${Buffer.from(f.si).toString('hex')}/0`);
    expect(held.size).toBe(share.length);
    expect(await shareProblem(held, 0)).toBeUndefined();
    await held.close();
  });

  it('a right-sized junk share planted first is replaced once the uploader says it is not its own', async () => {
    const f = file();
    const share = f.shares[0]!;
    await mallory.allocate(f.si, [0], share.length);
    await mallory.write(f.si, 0, patternBytes(share.length, 77));
    // Same size: reported as held; the client reads it, finds another share, and asks to replace it.
    expect((await honest.allocate(f.si, [0], share.length)).alreadyHave).toEqual([0]);
    const again = await honest.allocate(f.si, [0], share.length, [0]);
    expect(again).toMatchObject({ alreadyHave: [], allocated: [0] });
    await honest.write(f.si, 0, share);
    expect(Buffer.compare(await readAll(f.si, share.length), Buffer.from(share))).toBe(0);
  });

  it('junk written after the honest share is refused with ALREADY_EXISTS and the honest share is untouched', async () => {
    const f = file();
    const share = f.shares[0]!;
    await honest.allocate(f.si, [0], share.length);
    await honest.write(f.si, 0, share);
    for (const junk of [new Uint8Array([1]), patternBytes(share.length, 78)]) {
      await mallory.allocate(f.si, [0], junk.length, [0]);
      await expect(mallory.write(f.si, 0, junk)).rejects.toMatchObject({ code: 'ALREADY_EXISTS', message: expect.stringMatching(/verifies against its own UEB; it is kept/) });
      expect((await honest.list(f.si)).shares).toEqual([{ shareNumber: 0, size: share.length }]);
      expect(Buffer.compare(await readAll(f.si, share.length), Buffer.from(share))).toBe(0);
    }
  });

  it('a well-formed share of another file cannot replace the honest share that was there first', async () => {
    const f = file();
    const other = encodeFile(patternBytes(3000 + seed, 999), patternBytes(32, 999)).shares[0]!;
    expect(other.length).toBe(f.shares[0]!.length);
    await honest.allocate(f.si, [0], f.shares[0]!.length);
    await honest.write(f.si, 0, f.shares[0]!);
    await mallory.allocate(f.si, [0], other.length, [0]);
    await expect(mallory.write(f.si, 0, other)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(Buffer.compare(await readAll(f.si, other.length), Buffer.from(f.shares[0]!))).toBe(0);
  });

  it('the same bytes uploaded again by another account are deduplicated and leased to it', async () => {
    const f = file();
    const share = f.shares[1]!;
    await honest.allocate(f.si, [1], share.length);
    await honest.write(f.si, 1, share);
    // A second account writes the very same share (convergent upload racing): acknowledged, one copy.
    const before = (await mallory.stats()).accountBytes;
    await mallory.allocate(f.si, [1], share.length, [1]);
    await expect(mallory.write(f.si, 1, share)).resolves.toMatchObject({ bytesWritten: share.length });
    expect((await mallory.stats()).accountBytes).toBe(before + share.length);
    expect((await honest.list(f.si)).shares).toEqual([{ shareNumber: 1, size: share.length }]);
  });

  it('refuses a replace list naming a share not asked for', async () => {
    const f = file();
    await expect(honest.allocate(f.si, [0], 500, [2])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('replace lists share 2') });
  });
});
