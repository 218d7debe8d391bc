/**
 * Issue 11 item 7 end to end through the real client (libs/client uploader
 * and placement) on a real 3-server grid: a second account that learned the
 * storage index plants junk shares on every server before (or after) the
 * honest upload. The honest put still ends with shares that verify and the
 * download is exact; a held share that is not the uploader's is never
 * reported as stored.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { connectGrid, uploadFile, downloadFile, checkFile, type GridConnection } from '../../../libs/client/index.js';
import { storageIndexFromReadKey, toVerifyCap } from '../../../libs/caps/index.js';
import { planFile } from '../../../libs/format/index.js';
import { randomBytes } from '../../../libs/crypto/index.js';
import { startLocalGrid, type LocalGrid } from '../../e2e/fixtures/local-grid.js';
import { plantShares } from './junk-planter.js';

const ENC = { k: 2, n: 6, happy: 3, segmentSize: 4096 };

describe('client upload against planted shares', () => {
  let grid: LocalGrid;
  let work: string;
  let honest: GridConnection;
  let mallory: GridConnection;

  beforeAll(async () => {
    grid = await startLocalGrid({ servers: 3, encoding: ENC });
    work = mkdtempSync(join(tmpdir(), 'intergrid-junk-'));
    honest = await connectGrid(grid.clientConfig);
    mallory = await connectGrid((await grid.addClient({ name: 'mallory' })).config);
  });
  afterAll(async () => {
    honest?.close();
    mallory?.close();
    await grid?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function putGet(data: Uint8Array, readKey: Uint8Array) {
    const path = join(work, `f-${Math.random()}`);
    writeFileSync(path, data);
    const put = await uploadFile(honest, path, { readKey });
    const chunks: Buffer[] = [];
    await downloadFile(honest, put.cap, async (c) => void chunks.push(Buffer.from(c)));
    const check = await checkFile(honest, toVerifyCap(put.cap));
    return { put, got: Buffer.concat(chunks), check };
  }

  it.each([
    ['1-byte shares', () => 1],
    ['right-sized junk shares', (size: number) => size],
  ])('%s planted on every server first do not count, and the honest file comes back exact', async (_name, junkSize) => {
    const data = nodeRandomBytes(3 * 4096 + 5);
    const readKey = randomBytes(32);
    const si = storageIndexFromReadKey(readKey);
    const shareSize = planFile(data.length, ENC).shareSize;
    const planted = await plantShares(mallory, si, ENC.n, junkSize(shareSize));
    expect(planted).toBe(ENC.n * 3); // every share number on each of the 3 servers

    const { put, got, check } = await putGet(data, readKey);
    expect(put.alreadyStored).toEqual([]);
    expect(put.happiness).toBeGreaterThanOrEqual(ENC.happy);
    expect(put.shares).toHaveLength(ENC.n);
    if (junkSize(shareSize) === shareSize) expect(put.mismatchedHeld.map((m) => m.shnum).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(got.equals(data)).toBe(true);
    expect(check.healthy).toBe(true);
  });

  it('junk planted after the honest upload is refused; the file still comes back exact', async () => {
    const data = nodeRandomBytes(2 * 4096);
    const readKey = randomBytes(32);
    const first = await putGet(data, readKey);
    const si = storageIndexFromReadKey(readKey);
    const shareSize = planFile(data.length, ENC).shareSize;
    // Each honest share is refused on its server; only the numbers that server did not hold take junk (harmless: never this file's).
    expect(await plantShares(mallory, si, ENC.n, 1)).toBe(3 * ENC.n - ENC.n);
    expect(await plantShares(mallory, si, ENC.n, shareSize)).toBe(0);
    const chunks: Buffer[] = [];
    await downloadFile(honest, first.put.cap, async (c) => void chunks.push(Buffer.from(c)));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('a genuine held share (same file, re-uploaded) is still deduplicated', async () => {
    const data = nodeRandomBytes(4096 + 1);
    const readKey = randomBytes(32);
    await putGet(data, readKey);
    const again = await putGet(data, readKey);
    expect(again.put.alreadyStored).toEqual([0, 1, 2, 3, 4, 5]);
    expect(again.put.mismatchedHeld).toEqual([]);
    expect(again.got.equals(data)).toBe(true);
  });
});
