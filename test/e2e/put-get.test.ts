/**
 * Upload and download through a real in-process grid (10 storage servers,
 * 3-of-10, happy 7): exact bytes at segment boundaries and at 64 MiB,
 * failover to the 3 surviving servers, corruption detected and routed
 * around, servers-of-happiness and quota failures, restarts, byte ranges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connectGrid, openStoragePeer, uploadFile, downloadFile, ciphertextSegments, checkFile, emptyReport, type GridConnection } from '../../libs/client/index.js';
import { parseCap, toVerifyCap, withAreaCode, storageIndexFromReadKey, type ReadCap } from '../../libs/caps/index.js';
import { decryptSegment } from '../../libs/format/index.js';
import { decodeCertificateBase64 } from '../../libs/auth/index.js';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import { HappinessError, IntegrityError, PreconditionError, QuotaError, isIntergridError } from '../../libs/errors/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

const SEG = 4096;
let grid: LocalGrid;
let work: string;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10 });
  work = mkdtempSync(join(tmpdir(), 'intergrid-put-get-'));
});

afterAll(async () => {
  await grid?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function writeFile(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

async function withConn<T>(fn: (conn: GridConnection) => Promise<T>): Promise<T> {
  const conn = await connectGrid(grid.clientConfig);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

async function download(conn: GridConnection, cap: ReadCap, opts: Parameters<typeof downloadFile>[3] = {}): Promise<{ bytes: Buffer; report: ReturnType<typeof emptyReport> }> {
  const chunks: Buffer[] = [];
  const res = await downloadFile(conn, cap, async (c) => void chunks.push(Buffer.from(c)), opts);
  return { bytes: Buffer.concat(chunks), report: res.report };
}

async function upload(bytes: Uint8Array, name: string, segmentSize = SEG): Promise<ReadCap> {
  const path = writeFile(name, bytes);
  return withConn(async (conn) => (await uploadFile(conn, path, { encoding: { segmentSize } })).cap);
}

/** Share files of a storage index on one server: <dataDir>/shares/<si[0:2]>/<si>/<shnum>. */
function shareFiles(serverIndex: number, storageIndex: Uint8Array): string[] {
  const si = toHex(storageIndex);
  const dir = join(grid.servers[serverIndex]!.dataDir, 'shares', si.slice(0, 2), si);
  try {
    return readdirSync(dir).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

describe('put/get round trips', () => {
  it.each([0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 17])('returns exactly the %i bytes uploaded', async (size) => {
    const data = nodeRandomBytes(size);
    const cap = await upload(data, `size-${size}`);
    expect(cap.size).toBe(size);
    const got = await withConn((conn) => download(conn, cap));
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.report.corrupt).toEqual([]);
  });

  it('returns 64 MiB of random bytes with the same sha256', async () => {
    const size = 64 * 1024 * 1024;
    const path = join(work, 'big');
    const out = createWriteStream(path);
    const want = createHash('sha256');
    for (let left = size; left > 0; ) {
      const chunk = nodeRandomBytes(Math.min(left, 4 * 1024 * 1024));
      want.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      left -= chunk.length;
    }
    out.end();
    await once(out, 'finish');
    await withConn(async (conn) => {
      const { cap } = await uploadFile(conn, path);
      rmSync(path);
      const got = createHash('sha256');
      const res = await downloadFile(conn, cap, async (c) => void got.update(c));
      expect(res.bytes).toBe(size);
      expect(got.digest('hex')).toBe(want.digest('hex'));
    });
  }, 180_000);

  it('prints a read-cap carrying the home area code', async () => {
    const path = writeFile('area', nodeRandomBytes(10));
    const text = await withConn(async (conn) => (await uploadFile(conn, path)).capText);
    const cap = parseCap(text);
    expect(cap.kind).toBe('read');
    expect(cap.areaCode).toBe(grid.areaCode);
  });

  it('gives the same cap to the same file under a convergence secret and re-uses the stored shares', async () => {
    const { config } = await grid.addClient({ convergenceSecret: toHex(randomBytes(32)) });
    const data = nodeRandomBytes(3 * SEG);
    const path = writeFile('convergent', data);
    const conn = await connectGrid(config);
    try {
      const first = await uploadFile(conn, path, { encoding: { segmentSize: SEG } });
      const second = await uploadFile(conn, path, { encoding: { segmentSize: SEG } });
      expect(second.capText).toBe(first.capText);
      expect(second.happiness).toBe(10);
      expect(first.alreadyStored).toEqual([]);
      expect(second.alreadyStored).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await download(conn, second.cap)).bytes.equals(data)).toBe(true);
    } finally {
      conn.close();
    }
  });

  it('places one share on each of 10 servers', async () => {
    const path = writeFile('spread', nodeRandomBytes(5000));
    const res = await withConn((conn) => uploadFile(conn, path));
    expect(res.happiness).toBe(10);
    expect(new Set(res.shares.map((s) => s.server)).size).toBe(10);
  });
});

describe('byte ranges', () => {
  const data = nodeRandomBytes(5 * SEG + 123);
  let cap: ReadCap;
  beforeAll(async () => {
    cap = await upload(data, 'ranges');
  });

  it.each([
    [0, 1],
    [SEG - 1, 2],
    [100, 3 * SEG],
    [5 * SEG + 122, 1],
    [SEG, SEG],
    [2 * SEG + 5, 0],
  ])('returns exactly bytes [%i, +%i)', async (offset, length) => {
    const got = await withConn((conn) => download(conn, cap, { range: { offset, length } }));
    expect(got.bytes.equals(data.subarray(offset, offset + length))).toBe(true);
  });

  it('clamps a range reaching past the end', async () => {
    const got = await withConn((conn) => download(conn, cap, { range: { offset: 5 * SEG, length: 10 * SEG } }));
    expect(got.bytes.equals(data.subarray(5 * SEG))).toBe(true);
  });

  it('rejects a range starting past the end', async () => {
    await expect(withConn((conn) => download(conn, cap, { range: { offset: data.length + 1, length: 1 } }))).rejects.toThrow(/past the end/);
  });

  it('yields verified ciphertext from a verify-cap alone', async () => {
    const vcap = toVerifyCap(cap);
    const parts: Buffer[] = [];
    await withConn(async (conn) => {
      for await (const seg of ciphertextSegments(conn, vcap)) parts.push(Buffer.from(decryptSegment(cap.readKey, seg.index, seg.ciphertext)));
    });
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});

describe('failures', () => {
  it('downloads with 7 of 10 servers stopped', async () => {
    const data = nodeRandomBytes(3 * SEG + 5);
    const cap = await upload(data, 'seven-down');
    const stopped = [0, 1, 2, 3, 4, 5, 6];
    try {
      for (const i of stopped) await grid.stopServer(i);
      const got = await withConn((conn) => download(conn, cap));
      expect(got.bytes.equals(data)).toBe(true);
      expect(got.report.unavailable.length).toBeGreaterThanOrEqual(7);
    } finally {
      for (const i of stopped) await grid.restartServer(i);
    }
  });

  it('switches to other servers when a server in use stops mid-download', async () => {
    const data = nodeRandomBytes(32 * SEG + 3);
    const cap = await upload(data, 'stop-mid');
    const victim = 8;
    const prefer = [grid.servers[victim]!.name, grid.servers[1]!.name, grid.servers[3]!.name];
    const chunks: Buffer[] = [];
    let stopped = false;
    try {
      const res = await withConn((conn) =>
        downloadFile(
          conn,
          cap,
          async (c) => {
            // The sink holds the download until the server is fully down: later segments must come from elsewhere.
            if (!stopped) {
              stopped = true;
              await grid.stopServer(victim);
            }
            chunks.push(Buffer.from(c));
          },
          { prefer },
        ),
      );
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(res.report.unavailable.some((u) => u.server.startsWith(prefer[0]! + ' '))).toBe(true);
    } finally {
      await grid.restartServer(victim);
    }
  });

  it('does not wait for a server that never answers', async () => {
    const data = nodeRandomBytes(2 * SEG);
    const cap = await upload(data, 'blackhole');
    // Accepts TCP connections and never says a word: ListShares to it can only time out.
    const sockets = new Set<Socket>();
    const hole = createServer((sock) => void sockets.add(sock));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const port = (hole.address() as AddressInfo).port;
    const conn = await connectGrid(grid.clientConfig);
    const silent = openStoragePeer(conn.identity, { name: 'silent', publicKey: randomBytes(32), address: `127.0.0.1:${port}` });
    try {
      const got = await download({ ...conn, servers: [silent, ...conn.servers] }, cap);
      expect(got.bytes.equals(data)).toBe(true);
      // Had the download waited for it, the silent server would be listed as unavailable (deadline exceeded).
      expect(got.report.unavailable.some((u) => u.server.startsWith('silent'))).toBe(false);
    } finally {
      silent.close();
      conn.close();
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => hole.close(r));
    }
  });

  it('returns exact bytes and reports corruption when every share on two servers is damaged', async () => {
    const data = nodeRandomBytes(4 * SEG + 99);
    const cap = await upload(data, 'corrupt');
    const si = storageIndexFromReadKey(cap.readKey);
    const victims = [2, 7];
    for (const v of victims) {
      const files = shareFiles(v, si);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const bytes = readFileSync(f);
        // Every 97th byte after the header: hits hash-tree nodes and every block.
        for (let i = 80; i < bytes.length; i += 97) bytes[i]! ^= 0x5a;
        writeFileSync(f, bytes);
      }
    }
    const prefer = victims.map((v) => grid.servers[v]!.name);
    const got = await withConn((conn) => download(conn, cap, { prefer }));
    expect(got.bytes.equals(data)).toBe(true);
    const reported = new Set(got.report.corrupt.map((c) => c.server.split(' ')[0]));
    for (const name of prefer) expect(reported.has(name)).toBe(true);
  });

  it('fails with HappinessError when fewer than happy servers answer, leaving no shares', async () => {
    const stopped = [0, 1, 2, 3];
    const readKey = randomBytes(32);
    const path = writeFile('unhappy', nodeRandomBytes(2 * SEG));
    try {
      for (const i of stopped) await grid.stopServer(i);
      const err = await withConn((conn) => uploadFile(conn, path, { readKey, encoding: { segmentSize: SEG } })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HappinessError);
      expect((err as Error).message).toMatch(/happy=7/);
      expect((err as Error).message).toMatch(/on 6 of 10/);
      for (const name of stopped.map((i) => grid.servers[i]!.name)) expect((err as Error).message).toContain(name);
    } finally {
      for (const i of stopped) await grid.restartServer(i);
    }
    const si = storageIndexFromReadKey(readKey);
    const held = await withConn((conn) => Promise.all(conn.servers.map((s) => s.listShares(si))));
    expect(held.every((m) => m.size === 0)).toBe(true);
  });

  it('finishes without a server whose shares fail mid-upload while happiness still holds', async () => {
    const data = nodeRandomBytes(64 * SEG);
    const path = writeFile('mid-fail', data);
    const readKey = randomBytes(32);
    const si = toHex(storageIndexFromReadKey(readKey));
    const victim = grid.servers[4]!;
    const incoming = join(victim.dataDir, 'incoming', si);
    let sabotaged = false;
    const res = await withConn((conn) =>
      uploadFile(conn, path, {
        readKey,
        encoding: { segmentSize: SEG },
        // Once the victim is writing its share, take its temp file away: its final rename fails.
        onProgress: () => {
          if (!sabotaged && existsSync(incoming)) {
            rmSync(incoming, { recursive: true, force: true });
            sabotaged = true;
          }
        },
      }),
    );
    expect(sabotaged).toBe(true);
    expect(res.happiness).toBe(9);
    expect(res.shares.some((s) => s.server.startsWith(victim.name + ' '))).toBe(false);
    expect(res.failures.some((f) => f.server.startsWith(victim.name + ' '))).toBe(true);
    const got = await withConn((conn) => download(conn, res.cap));
    expect(got.bytes.equals(data)).toBe(true);
  });

  it('fails with a clear QuotaError when the account quota is too small', async () => {
    const { config } = await grid.addClient({ quotaBytes: 10_000 });
    const path = writeFile('quota', nodeRandomBytes(256 * 1024));
    const conn = await connectGrid(config);
    try {
      const err = await uploadFile(conn, path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuotaError);
      expect(isIntergridError(err, 'QUOTA')).toBe(true);
      expect((err as Error).message).toMatch(/quota/i);
    } finally {
      conn.close();
    }
  });

  it('serves shares after their servers restart', async () => {
    const data = nodeRandomBytes(2 * SEG + 1);
    const cap = await upload(data, 'restart');
    for (let i = 0; i < 10; i++) await grid.restartServer(i);
    const got = await withConn((conn) => download(conn, cap));
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.report.unavailable).toEqual([]);
  });
});

describe('bad input', () => {
  it('rejects a missing file with an error naming it', async () => {
    const missing = join(work, 'does-not-exist');
    await expect(withConn((conn) => uploadFile(conn, missing))).rejects.toThrow(/does-not-exist/);
  });

  it('rejects a cap whose UEB hash was altered with an IntegrityError', async () => {
    const cap = await upload(nodeRandomBytes(10), 'altered');
    const uebHash = cap.uebHash.slice();
    uebHash[0]! ^= 1;
    await expect(withConn((conn) => download(conn, { ...cap, uebHash }))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a long-distance cap instead of looking for it locally', async () => {
    const cap = await upload(nodeRandomBytes(10), 'ld');
    const remote = withAreaCode(cap, '999');
    await expect(withConn((conn) => download(conn, remote))).rejects.toBeInstanceOf(PreconditionError);
  });
});

describe('connection', () => {
  it('renews a client certificate in the last quarter of its life and reports it for saving', async () => {
    const { config } = await grid.addClient({ validityMs: 10_000 });
    const old = decodeCertificateBase64(config.certificate);
    let saved: string | undefined;
    const conn = await connectGrid(config, { onCertificateRenewed: (c) => (saved = c) });
    try {
      expect(saved).toBeDefined();
      const fresh = decodeCertificateBase64(saved!);
      expect(fresh.notAfter).toBeGreaterThan(old.notAfter);
      expect(conn.identity.certificates[0]!.notAfter).toBe(fresh.notAfter);
      const path = writeFile('renewed', nodeRandomBytes(100));
      const { cap } = await uploadFile(conn, path);
      expect((await download(conn, cap)).bytes.length).toBe(100);
    } finally {
      conn.close();
    }
  });

  it('keeps a certificate that is not close to expiry', async () => {
    let saved: string | undefined;
    const conn = await connectGrid(grid.clientConfig, { onCertificateRenewed: (c) => (saved = c) });
    conn.close();
    expect(saved).toBeUndefined();
  });
});

describe('checker', () => {
  it('reports a fresh upload healthy with one good share per server', async () => {
    const cap = await upload(nodeRandomBytes(3 * SEG), 'check-ok');
    const res = await withConn((conn) => checkFile(conn, toVerifyCap(cap)));
    expect(res.healthy).toBe(true);
    expect(res.goodShares).toBe(10);
    expect(res.servers.every((s) => s.shares.length === 1 && s.shares[0]!.healthy)).toBe(true);
  });

  it('reports damaged copies as unhealthy and the file as not healthy', async () => {
    const cap = await upload(nodeRandomBytes(3 * SEG), 'check-bad');
    const si = storageIndexFromReadKey(cap.readKey);
    for (const f of shareFiles(5, si)) {
      const bytes = readFileSync(f);
      bytes[bytes.length - 200]! ^= 1; // inside the hash trees / UEB region
      bytes[100]! ^= 1; // inside the first block
      writeFileSync(f, bytes);
    }
    const res = await withConn((conn) => checkFile(conn, cap));
    expect(res.healthy).toBe(false);
    expect(res.recoverable).toBe(true);
    const s5 = res.servers.find((s) => s.server === grid.servers[5]!.name)!;
    expect(s5.shares.length).toBe(1);
    expect(s5.shares[0]!.healthy).toBe(false);
  });
});
