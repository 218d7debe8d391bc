/**
 * Upload and download through a real in-process grid (10 storage servers,
 * 3-of-10, happy 7): exact bytes at segment boundaries and at 64 MiB,
 * convergent re-upload, byte ranges, verify-cap ciphertext, bad input,
 * certificate renewal. Failover and corruption: client-failover.test.ts.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { rmSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { connectGrid, uploadFile, downloadFile, ciphertextSegments } from '../../libs/client/index.js';
import { parseCap, toVerifyCap, withAreaCode, type ReadCap } from '../../libs/caps/index.js';
import { decryptSegment } from '../../libs/format/index.js';
import { decodeCertificateBase64 } from '../../libs/auth/index.js';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import { IntegrityError, PreconditionError } from '../../libs/errors/index.js';
import { SEG, grid, work, useGrid, writeFile, withConn, download, upload } from './fixtures/client-harness.js';

useGrid();

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

  it('moves blocks larger than one gRPC message (k=1, 17 MiB segments)', async () => {
    const data = nodeRandomBytes(17 * 1024 * 1024 + 5);
    const path = writeFile('big-blocks', data);
    await withConn(async (conn) => {
      const { cap } = await uploadFile(conn, path, { encoding: { k: 1, n: 2, happy: 2, segmentSize: 17 * 1024 * 1024 } });
      rmSync(path);
      expect((await download(conn, cap)).bytes.equals(data)).toBe(true);
    });
  });

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
