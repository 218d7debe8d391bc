/**
 * The web API when the grid fails (services/web/file-api.ts, http-status.ts;
 * docs/web.md "Errors"): a real in-process grid (10 storage servers,
 * 3-of-10, 4 KiB segments) whose servers are stopped and whose share files
 * are damaged on disk, behind startWebServer in this process.
 *
 * Before the headers a failure is a status (502 for shares that do not
 * verify, 503 + Retry-After for servers that do not answer); after them it
 * cuts the connection: the client sees a short body, never a complete 200
 * with wrong bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { capStorageIndex, parseCap, redactCap, type ReadCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { connectGrid, uploadFile } from '../../libs/client/index.js';
import { blockRange, planFile } from '../../libs/format/index.js';
import { startWebServer, type RunningWebServer } from '../../services/web/server.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';
import { getRange, put, request, uriOf } from './fixtures/web-http.js';

const SEG = 4096;
const MiB = 1024 * 1024;

let grid: LocalGrid;
let web: RunningWebServer;
const logged: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  grid = await startLocalGrid({ servers: 10, encoding: { segmentSize: SEG } });
  web = await startWebServer({ listen: '127.0.0.1:0', openClient: () => connectGrid(grid.clientConfig), log: (l) => void logged.push(l) });
}, 120_000);

afterAll(async () => {
  await web?.close();
  await grid?.stop();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function putOk(data: Uint8Array): Promise<{ text: string; cap: ReadCap }> {
  const { answer, cap } = await put(web.url, data);
  expect(answer.status, answer.body.toString()).toBe(201);
  return { text: cap, cap: parseCap(cap) as ReadCap };
}

/** Every share file of a storage index on every server: <dataDir>/shares/<si[0:2]>/<si>/<shnum>. */
function shareFilesOf(g: LocalGrid, storageIndex: Uint8Array): string[] {
  const si = toHex(storageIndex);
  return g.servers.flatMap((s) => {
    const dir = join(s.dataDir, 'shares', si.slice(0, 2), si);
    try {
      return readdirSync(dir).map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
}

/** Flips one byte in the middle of segment `i`'s block in each given share file. */
function spoilBlock(files: string[], cap: ReadCap, i: number): void {
  const layout = planFile(cap.size, { k: cap.k, n: cap.n, segmentSize: SEG });
  const block = blockRange(layout, i);
  for (const f of files) {
    const bytes = readFileSync(f);
    bytes[block.offset + (block.length >> 1)]! ^= 0x5a;
    writeFileSync(f, bytes);
  }
}

async function expectHealthy(): Promise<void> {
  const data = randomBytes(SEG + 3);
  const { text } = await putOk(data);
  const got = await request(web.url, uriOf(text));
  expect(got.status).toBe(200);
  expect(got.body.equals(data)).toBe(true);
}

async function withStopped<T>(servers: number[], fn: () => Promise<T>): Promise<T> {
  try {
    for (const i of servers) await grid.stopServer(i);
    return await fn();
  } finally {
    for (const i of servers) await grid.restartServer(i);
  }
}

describe('shares damaged on disk', () => {
  it('with 3 of 10 shares still good: the exact bytes, whole and in a range', async () => {
    const data = randomBytes(5 * SEG + 9);
    const { text, cap } = await putOk(data);
    const files = shareFilesOf(grid, capStorageIndex(cap));
    expect(files.length).toBe(10);
    for (let i = 0; i < 6; i++) spoilBlock(files.slice(0, 7), cap, i);
    const got = await request(web.url, uriOf(text));
    expect(got.status).toBe(200);
    expect(got.body.equals(data)).toBe(true);
    const part = await getRange(web.url, uriOf(text), `bytes=${SEG - 1}-${3 * SEG}`);
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(SEG - 1, 3 * SEG + 1))).toBe(true);
  });

  it('beyond repair (every share spoiled): 502 with a reason, not 503 (retrying cannot help)', async () => {
    const data = randomBytes(3 * SEG + 1);
    const { text, cap } = await putOk(data);
    spoilBlock(shareFilesOf(grid, capStorageIndex(cap)), cap, 0);
    const got = await request(web.url, uriOf(text));
    expect(got.status, got.body.toString()).toBe(502);
    expect(got.headers['retry-after']).toBeUndefined();
    expect(got.body.toString()).toMatch(/corrupt/);
    // The ciphertext of the same file is just as unverifiable.
    const ct = await request(web.url, uriOf(text, '?format=ciphertext'));
    expect(ct.status).toBe(502);
  });

  it('a failure after the headers (segment 100 spoiled in every share) cuts the connection after a correct prefix, and is logged without the read key', async () => {
    const data = randomBytes(300 * SEG + 11);
    const { text, cap } = await putOk(data);
    spoilBlock(shareFilesOf(grid, capStorageIndex(cap)), cap, 100);
    const before = logged.length;
    const got = await request(web.url, uriOf(text));
    expect(got.status).toBe(200); // the headers went out with segment 0
    expect(got.headers['content-length']).toBe(String(data.length));
    expect(got.cut).toBe(true);
    expect(got.body.length).toBeLessThan(data.length);
    expect(got.body.length).toBeLessThanOrEqual(100 * SEG);
    expect(got.body.equals(data.subarray(0, got.body.length))).toBe(true);
    // A range that starts before the spoiled segment: 206, then cut.
    const part = await getRange(web.url, uriOf(text), `bytes=${60 * SEG + 1}-`);
    expect(part.status).toBe(206);
    expect(part.cut).toBe(true);
    expect(part.body.equals(data.subarray(60 * SEG + 1, 60 * SEG + 1 + part.body.length))).toBe(true);
    // One whose first segments are the spoiled one's: a status, before any byte.
    const early = await getRange(web.url, uriOf(text), `bytes=${100 * SEG}-`);
    expect(early.status).toBe(502);
    // One that starts after it is fine.
    const after = await getRange(web.url, uriOf(text), `bytes=${101 * SEG}-`);
    expect(after.status).toBe(206);
    expect(after.cut).toBe(false);
    expect(after.body.equals(data.subarray(101 * SEG))).toBe(true);

    const lines = logged.slice(before);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/failed after 200 was sent/);
    expect(lines[0]).toContain(redactCap(cap));
    expect(lines.join('\n')).not.toContain(text.split(':')[2]!); // the read key's base32
    await expectHealthy();
  }, 120_000);
});

describe('servers that do not answer', () => {
  it('with 8 of 10 servers stopped: 503 with Retry-After before any byte', async () => {
    const data = randomBytes(2 * SEG + 5);
    const { text } = await putOk(data);
    await withStopped([0, 1, 2, 3, 4, 5, 6, 7], async () => {
      const got = await request(web.url, uriOf(text));
      expect(got.status, got.body.toString()).toBe(503);
      expect(got.headers['retry-after']).toBe('5');
      expect(got.body.toString().trim().length).toBeGreaterThan(0);
      // An upload cannot reach happy 7 either: 503.
      const up = await put(web.url, randomBytes(100));
      expect(up.answer.status).toBe(503);
      expect(up.answer.headers['retry-after']).toBe('5');
    });
    const got = await request(web.url, uriOf(text));
    expect(got.body.equals(data)).toBe(true);
  });

  it('with every server stopped: 503 (nobody answered: not 404)', async () => {
    const data = randomBytes(SEG);
    const { text } = await putOk(data);
    await withStopped([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], async () => {
      const got = await request(web.url, uriOf(text));
      expect(got.status, got.body.toString()).toBe(503);
      expect(got.headers['retry-after']).toBe('5');
    });
    expect((await request(web.url, uriOf(text))).body.equals(data)).toBe(true);
  });

  it('servers stopped mid-download cut the connection: a short body, never a complete 200', async () => {
    // 10 MiB in 16 KiB segments (put with the library: the web server's config says 4 KiB), so that
    // more than the loopback kernel buffers (a few MiB) is still to come when the servers stop.
    const data = randomBytes(10 * MiB + 5);
    const path = join(grid.dir, 'mid-download');
    writeFileSync(path, data);
    const conn = await connectGrid(grid.clientConfig);
    const text = await uploadFile(conn, path, { encoding: { segmentSize: 16 * 1024 } })
      .then((r) => r.capText)
      .finally(() => conn.close());
    const sockets: Socket[] = [];
    const onConn = (s: Socket) => void sockets.push(s);
    web.server.on('connection', onConn);
    let resumeReader: () => void = () => undefined;
    let headersSeen: () => void = () => undefined;
    const headersIn = new Promise<void>((resolve) => (headersSeen = resolve));
    const answer = request(web.url, uriOf(text), {
      onResponse: (res) => {
        res.pause();
        resumeReader = () => res.resume();
        headersSeen();
      },
    });
    try {
      await headersIn;
      // Let the server fill the connection's buffers; it then waits for the reader.
      let last = -1;
      for (let still = 0; still < 10; ) {
        await new Promise((r) => setTimeout(r, 100));
        const now = sockets[sockets.length - 1]?.bytesWritten ?? 0;
        still = now === last ? still + 1 : 0;
        last = now;
      }
      // Well short of the file: the rest (beyond the downloader's two groups in hand) needs the servers.
      expect(last).toBeLessThan(data.length - 2 * MiB);
      const stopped = [0, 1, 2, 3, 4, 5, 6, 7];
      await withStopped(stopped, async () => {
        resumeReader();
        const got = await answer;
        expect(got.status).toBe(200);
        expect(got.cut).toBe(true);
        expect(got.body.length).toBeLessThan(data.length);
        expect(got.body.equals(data.subarray(0, got.body.length))).toBe(true);
      });
    } finally {
      web.server.off('connection', onConn);
    }
    await expectHealthy();
  }, 180_000);
});
