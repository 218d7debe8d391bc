/**
 * Failover through a real in-process grid (10 storage servers, 3-of-10,
 * happy 7): 7 of 10 servers down, a server stopping mid-download, a server
 * that never answers, every share on two servers damaged on disk, fewer than
 * happy servers, a share failing mid-upload, quota, restarts; the checker.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connectGrid, openStoragePeer, uploadFile, downloadFile, checkFile } from '../../libs/client/index.js';
import { toVerifyCap, storageIndexFromReadKey } from '../../libs/caps/index.js';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import { blockRange, planFile } from '../../libs/format/index.js';
import { HappinessError, QuotaError, UnavailableError, isIntergridError } from '../../libs/errors/index.js';
import { SEG, grid, useGrid, writeFile, withConn, download, upload, shareFiles } from './fixtures/client-harness.js';

useGrid();

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

  it('gives up a share stream to a server that stops making progress', async () => {
    const sockets = new Set<Socket>();
    const hole = createServer((sock) => void sockets.add(sock));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const conn = await connectGrid(grid.clientConfig);
    const silent = openStoragePeer(conn.identity, { name: 'silent', publicKey: randomBytes(32), address: `127.0.0.1:${(hole.address() as AddressInfo).port}` });
    try {
      const writer = silent.openShareWriter(randomBytes(16), 0, 4 * 1024 * 1024, 300);
      // Larger than gRPC's per-call retry buffer, so the write completes only when the peer takes it.
      const err = await writer.write(new Uint8Array(1024 * 1024)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(/no progress/);
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

  it('replaces a primary share whose block fails in the middle of a download (the block was read into the segment in place)', async () => {
    const size = 6 * SEG + 5;
    const data = nodeRandomBytes(size);
    const cap = await upload(data, 'corrupt-primary-block');
    const si = storageIndexFromReadKey(cap.readKey);
    const layout = planFile(size, { k: 3, n: 10, segmentSize: SEG });
    const holder = grid.servers.findIndex((_, v) => shareFiles(v, si).some((f) => basename(f) === '0'));
    expect(holder).toBeGreaterThanOrEqual(0);
    const file = shareFiles(holder, si).find((f) => basename(f) === '0')!;
    const bytes = readFileSync(file);
    const block = blockRange(layout, 3);
    bytes[block.offset + Math.floor(block.length / 2)]! ^= 0x01; // one bit of segment 3's block: setup still passes
    writeFileSync(file, bytes);
    const got = await withConn((conn) => download(conn, cap));
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.report.corrupt.some((c) => c.shnum === 0 && c.server.startsWith(grid.servers[holder]!.name))).toBe(true);
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

  it('fails with HappinessError when too many servers fail mid-upload', async () => {
    const path = writeFile('mid-fail-many', nodeRandomBytes(64 * SEG));
    const readKey = randomBytes(32);
    const si = toHex(storageIndexFromReadKey(readKey));
    const victims = [0, 1, 2, 3].map((i) => grid.servers[i]!);
    const sabotaged = new Set<string>();
    const err = await withConn((conn) =>
      uploadFile(conn, path, {
        readKey,
        encoding: { segmentSize: SEG },
        onProgress: () => {
          for (const v of victims) {
            const incoming = join(v.dataDir, 'incoming', si);
            if (!sabotaged.has(v.name) && existsSync(incoming)) {
              rmSync(incoming, { recursive: true, force: true });
              sabotaged.add(v.name);
            }
          }
        },
      }),
    ).catch((e: unknown) => e);
    expect(sabotaged.size).toBe(4);
    expect(err).toBeInstanceOf(HappinessError);
    expect((err as Error).message).toMatch(/happy=7/);
    for (const v of victims) expect((err as Error).message).toContain(v.name);
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

describe('checker', () => {
  it('reports a fresh upload healthy with one good share per server', async () => {
    const cap = await upload(nodeRandomBytes(3 * SEG), 'check-ok');
    const res = await withConn((conn) => checkFile(conn, toVerifyCap(cap)));
    expect(res.healthy).toBe(true);
    expect(res.goodShares).toBe(10);
    expect(res.servers.every((s) => s.shares.length === 1 && s.shares[0]!.healthy)).toBe(true);
  });

  it('reports a copy whose stored ciphertext tree is damaged, though no block is', async () => {
    const size = 5 * SEG;
    const cap = await upload(nodeRandomBytes(size), 'check-ct-tree');
    const layout = planFile(size, { k: 3, n: 10, segmentSize: SEG });
    const files = shareFiles(6, storageIndexFromReadKey(cap.readKey));
    expect(files.length).toBe(1);
    const bytes = readFileSync(files[0]!);
    bytes[layout.ciphertextTreeOffset + 40]! ^= 0x80; // inside node 1, never part of a block's path
    writeFileSync(files[0]!, bytes);
    const res = await withConn((conn) => checkFile(conn, cap));
    const s6 = res.servers.find((s) => s.server === grid.servers[6]!.name)!;
    expect(s6.shares[0]!.healthy).toBe(false);
    expect(s6.shares[0]!.reason).toMatch(/ciphertext tree/);
    expect(res.goodShares).toBe(9);
  });

  it('adds a lease on every server holding a share when asked', async () => {
    const cap = await upload(nodeRandomBytes(SEG), 'check-lease');
    const before = Date.now();
    const res = await withConn((conn) => checkFile(conn, cap, { addLease: true }));
    for (const s of res.servers) {
      expect(s.leaseError).toBeUndefined();
      expect(s.leaseExpiresAtMs).toBeGreaterThan(before);
    }
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
