/**
 * A download reads each share's blocks of several segments in one ReadShare
 * (libs/client segment-fetcher.ts segmentsWithProof): fewer calls, each
 * hash-tree node asked for once per call, exact bytes for any range across
 * the groups' edges, and a copy failing in the middle of a group replaced
 * without losing the blocks already verified. A real in-process grid; the
 * ReadShare requests are counted by a server interceptor on every storage
 * server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { connectGrid, downloadFile, uploadFile, type DownloadReport } from '../../libs/client/index.js';
import { segmentsPerRead } from '../../libs/client/downloader.js';
import { storageIndexFromReadKey, type ReadCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { blockRange, planFile } from '../../libs/format/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

const SEG = 4096;
/** Every ReadShare request the servers received: its ranges. */
const reads: { offset: number; length: number }[][] = [];

const countReads: grpc.ServerInterceptor = (method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next(
        new grpc.ServerListenerBuilder()
          .withOnReceiveMessage((message: { ranges?: { offset: number; length: number }[] }, pass) => {
            if (method.path.endsWith('/ReadShare')) reads.push((message.ranges ?? []).map((r) => ({ offset: Number(r.offset), length: Number(r.length) })));
            pass(message);
          })
          .build(),
      ),
  });

let grid: LocalGrid;
let work: string;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10, interceptors: [countReads] });
  work = mkdtempSync(join(tmpdir(), 'intergrid-grouped-'));
});
afterAll(async () => {
  await grid?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

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

async function download(cap: ReadCap, opts: Parameters<typeof downloadFile>[3] = {}): Promise<{ bytes: Buffer; report: DownloadReport; calls: { offset: number; length: number }[][] }> {
  const conn = await connectGrid(grid.clientConfig);
  const before = reads.length;
  try {
    const chunks: Buffer[] = [];
    const res = await downloadFile(conn, cap, async (c) => void chunks.push(Buffer.from(c)), opts);
    return { bytes: Buffer.concat(chunks), report: res.report, calls: reads.slice(before) };
  } finally {
    conn.close();
  }
}

/** ReadShare calls that carried at least one whole block of the file. */
function blockReads(calls: { offset: number; length: number }[][], blockLength: number): { offset: number; length: number }[][] {
  return calls.filter((rs) => rs.some((r) => r.length === blockLength));
}

describe('grouped segment reads', () => {
  it('picks 4 segments per read for 1 MiB segments, 16 at most, 1 at least', () => {
    expect(segmentsPerRead(1024 * 1024)).toBe(4);
    expect(segmentsPerRead(SEG)).toBe(16);
    expect(segmentsPerRead(8 * 1024 * 1024)).toBe(1);
  });

  it('reads the blocks of several segments per ReadShare, each range once, with the same bytes as one segment per call', async () => {
    const data = randomBytes(40 * SEG + 123);
    const cap = await upload(data, 'forty');
    const block = blockRange(planFile(data.length, { k: 3, n: 10, segmentSize: SEG }), 0).length;

    const grouped = await download(cap, { segmentsPerRead: 16 });
    expect(grouped.bytes.equals(data)).toBe(true);
    const single = await download(cap, { segmentsPerRead: 1 });
    expect(single.bytes.equals(data)).toBe(true);

    // 41 segments (the last a short one): 3 groups (16 + 16 + 9) per slot instead of 41 calls.
    const g = blockReads(grouped.calls, block);
    const s = blockReads(single.calls, block);
    expect(s.length).toBe(40 * 3);
    expect(g.length).toBe(3 * 3);
    expect(g.map((rs) => rs.filter((r) => r.length === block).length).sort((a, b) => a - b)).toEqual([8, 8, 8, 16, 16, 16, 16, 16, 16]);
    // A hash-tree node that neighbouring segments share is asked for once per call.
    for (const rs of g) expect(new Set(rs.map((r) => `${r.offset}:${r.length}`)).size).toBe(rs.length);
    // Fewer ranges in all than one call per segment asks for (shared nodes counted once).
    const ranges = (calls: { offset: number; length: number }[][]) => calls.reduce((n, rs) => n + rs.length, 0);
    expect(ranges(g)).toBeLessThan(ranges(s));
  });

  it('returns exact bytes for ranges that start and end on either side of a group edge', async () => {
    const data = randomBytes(37 * SEG + 7);
    const cap = await upload(data, 'edges');
    const perRead = 4;
    const edge = perRead * SEG; // first byte of the second group
    const cases: [number, number][] = [
      [edge - 1, 2],
      [edge, 1],
      [edge - SEG, SEG],
      [edge - 5, 2 * perRead * SEG + 10],
      [3 * edge + 1, data.length - 3 * edge - 1],
      [data.length - 1, 1],
      [0, data.length],
    ];
    for (const [offset, length] of cases) {
      const got = await download(cap, { segmentsPerRead: perRead, range: { offset, length } });
      expect(got.bytes.equals(data.subarray(offset, offset + length)), `range ${offset}+${length}`).toBe(true);
    }
  });

  it('keeps the blocks verified before a copy fails in the middle of a group, and reads the rest from another copy', async () => {
    const size = 16 * SEG;
    const data = randomBytes(size);
    const cap = await upload(data, 'mid-group');
    const si = storageIndexFromReadKey(cap.readKey);
    const layout = planFile(size, { k: 3, n: 10, segmentSize: SEG });
    const hex = toHex(si);
    const files = grid.servers.map((sv) => {
      const dir = join(sv.dataDir, 'shares', hex.slice(0, 2), hex);
      try {
        return readdirSync(dir).map((f) => join(dir, f));
      } catch {
        return [];
      }
    });
    const holder = files.findIndex((fs) => fs.some((f) => basename(f) === '0'));
    const file = files[holder]!.find((f) => basename(f) === '0')!;
    const bytes = readFileSync(file);
    const bad = blockRange(layout, 9);
    bytes[bad.offset + 1]! ^= 0x80; // segment 9 of 16: the copy's first nine blocks verify
    writeFileSync(file, bytes);

    const got = await download(cap, { segmentsPerRead: 16 });
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.report.corrupt.some((c) => c.shnum === 0 && c.server.startsWith(grid.servers[holder]!.name))).toBe(true);
    // The replacement copy was asked only for the segments the failed one did not deliver.
    const block = bad.length;
    const withBlocks = blockReads(got.calls, block).map((rs) => rs.filter((r) => r.length === block).length);
    expect(withBlocks.filter((n) => n === 16).length).toBe(3);
    expect(withBlocks).toContain(16 - 9);
  });
});
