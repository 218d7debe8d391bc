/**
 * Repair (libs/client/repairer.ts, `intergrid check --repair`) on a real
 * grid of 10 storage servers (3-of-10, happy 7): share files deleted or
 * damaged on disk are rebuilt from a verify-cap, byte-identical to what the
 * uploader wrote, on the servers that lost them; the file is back to 10 good
 * shares and downloads exactly. An unrecoverable file is reported and left
 * untouched; a file whose shares sit on too few servers gets copies on
 * servers holding none.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectGrid, repairFile, uploadFile, checkFile } from '../../libs/client/index.js';
import { storageIndexFromReadKey, toVerifyCap, formatCap, type ReadCap } from '../../libs/caps/index.js';
import { SEG, grid, useGrid, withConn, download, upload, shareFiles, writeFile } from './fixtures/client-harness.js';
import { runBuiltCli } from './fixtures/built-cli.js';

useGrid();

/** Every share file of the file, by server index: path and bytes. */
function snapshot(cap: ReadCap): { server: number; path: string; bytes: Buffer }[] {
  const si = storageIndexFromReadKey(cap.readKey);
  return grid.servers.flatMap((_, i) => shareFiles(i, si).map((path) => ({ server: i, path, bytes: readFileSync(path) })));
}

/** Asserts that the share files now on disk include byte-identical copies of every share in `before`. */
function expectRebuiltIdentical(cap: ReadCap, before: { path: string; bytes: Buffer }[]): void {
  const now = new Map(snapshot(cap).map((f) => [f.path, f.bytes]));
  for (const f of before) {
    const got = now.get(f.path);
    expect(got, `${f.path} is back`).toBeDefined();
    expect(got!.equals(f.bytes), `${f.path} is byte-identical`).toBe(true);
  }
}

describe('repair', () => {
  it('rebuilds the shares of 4 servers whose share files were deleted, from the verify-cap, byte-identical, back to 10 good shares', async () => {
    const data = randomBytes(5 * SEG + 123);
    const cap = await upload(data, 'lost-four');
    const original = snapshot(cap);
    expect(original).toHaveLength(10);
    const lost = original.filter((f) => [1, 4, 6, 8].includes(f.server));
    for (const f of lost) rmSync(f.path);

    const res = await withConn((conn) => repairFile(conn, toVerifyCap(cap)));
    expect(res.before.goodShares).toBe(6);
    expect(res.before.healthy).toBe(false);
    expect(res.repaired).toHaveLength(4);
    expect(res.repairProblem).toBeUndefined();
    // Each share went back to the server that lost it (its bad copy replaced).
    const lostNames = new Set(lost.map((f) => grid.servers[f.server]!.name));
    expect(new Set(res.repaired.map((r) => r.server))).toEqual(lostNames);
    expect(res.healthy).toBe(true);
    expect(res.goodShares).toBe(10);
    expect(res.happiness).toBe(10);
    expectRebuiltIdentical(cap, original);

    const again = await withConn((conn) => download(conn, cap));
    expect(again.bytes.equals(data)).toBe(true);
  });

  it('replaces damaged copies (a flipped block byte, a truncated share) with good ones', async () => {
    const cap = await upload(randomBytes(3 * SEG + 7), 'damaged');
    const original = snapshot(cap);
    const flipped = original.find((f) => f.server === 2)!;
    const bytes = Buffer.from(flipped.bytes);
    bytes[100]! ^= 1;
    writeFileSync(flipped.path, bytes);
    const truncated = original.find((f) => f.server === 7)!;
    writeFileSync(truncated.path, truncated.bytes.subarray(0, 50));

    const res = await withConn((conn) => repairFile(conn, cap));
    expect(res.before.goodShares).toBe(8);
    expect(res.repaired.map((r) => r.server).sort()).toEqual([grid.servers[2]!.name, grid.servers[7]!.name].sort());
    expect(res.healthy).toBe(true);
    expectRebuiltIdentical(cap, original);
  });

  it('rebuilds a 0-byte file and a one-segment file', async () => {
    for (const size of [0, 1, SEG]) {
      const data = randomBytes(size);
      const cap = await upload(data, `small-${size}`);
      const original = snapshot(cap);
      for (const f of original.filter((x) => x.server < 4)) rmSync(f.path);
      const res = await withConn((conn) => repairFile(conn, toVerifyCap(cap)));
      expect(res.repaired, `size ${size}`).toHaveLength(4);
      expect(res.goodShares).toBe(10);
      expectRebuiltIdentical(cap, original);
      expect((await withConn((conn) => download(conn, cap))).bytes.equals(data)).toBe(true);
    }
  });

  it('a healthy file is left alone', async () => {
    const cap = await upload(randomBytes(2 * SEG), 'healthy');
    const original = snapshot(cap);
    const res = await withConn((conn) => repairFile(conn, cap));
    expect(res.before.healthy).toBe(true);
    expect(res.repaired).toEqual([]);
    expect(snapshot(cap).map((f) => f.path).sort()).toEqual(original.map((f) => f.path).sort());
  });

  it('an unrecoverable file is reported, nothing is written and no allocation is left', async () => {
    const cap = await upload(randomBytes(2 * SEG), 'gone');
    const original = snapshot(cap);
    const kept = original.filter((f) => f.server < 2);
    for (const f of original.filter((x) => x.server >= 2)) rmSync(f.path);
    const res = await withConn((conn) => repairFile(conn, cap));
    expect(res.recoverable).toBe(false);
    expect(res.repaired).toEqual([]);
    expect(res.repairProblem).toMatch(/not recoverable: 2 good shares, 3 needed/);
    expect(snapshot(cap).map((f) => f.path).sort()).toEqual(kept.map((f) => f.path).sort());
  });

  it('with 2 servers down and 2 servers\' shares deleted, rebuilds all 4 missing shares onto the servers still up', async () => {
    const data = randomBytes(4 * SEG);
    const cap = await upload(data, 'down-and-deleted');
    const original = snapshot(cap);
    for (const f of original.filter((x) => x.server === 0 || x.server === 5)) rmSync(f.path);
    await grid.stopServer(3);
    await grid.stopServer(9);
    try {
      const res = await withConn((conn) => repairFile(conn, cap));
      expect(res.before.goodShares).toBe(6);
      expect(res.repaired).toHaveLength(4);
      expect(res.goodShares).toBe(10);
      expect(res.happiness).toBe(8);
      expect(res.healthy).toBe(true);
      expect(res.repaired.every((r) => r.server !== grid.servers[3]!.name && r.server !== grid.servers[9]!.name)).toBe(true);
    } finally {
      await grid.restartServer(3);
      await grid.restartServer(9);
    }
    // With the two back, every share has at least one good copy and the file reads exactly.
    const after = await withConn((conn) => checkFile(conn, cap));
    expect(after.goodShares).toBe(10);
    expect((await withConn((conn) => download(conn, cap))).bytes.equals(data)).toBe(true);
  });

  it('shares uploaded to only 4 servers get copies on servers holding none until happy is reached', async () => {
    const data = randomBytes(3 * SEG);
    const path = writeFile('crowded', data);
    const few = grid.servers.slice(0, 4).map((s) => s.name);
    const conn = await connectGrid(grid.clientConfig, { onlyServers: few });
    let cap: ReadCap;
    try {
      cap = (await uploadFile(conn, path, { encoding: { segmentSize: SEG, happy: 4 } })).cap;
    } finally {
      conn.close();
    }
    const res = await withConn((c) => repairFile(c, cap));
    expect(res.before.goodShares).toBe(10);
    expect(res.before.happiness).toBe(4);
    expect(res.repaired).toHaveLength(3);
    expect(res.repaired.every((r) => !few.includes(r.server))).toBe(true);
    expect(res.happiness).toBe(7);
    expect(res.healthy).toBe(true);
    expect((await withConn((c) => download(c, cap))).bytes.equals(data)).toBe(true);
  });

  it('`intergrid check CAP --repair --json` prints the check after repair with a repaired list, and exits 0', async () => {
    const cap = await upload(randomBytes(2 * SEG), 'cli');
    const original = snapshot(cap);
    for (const f of original.filter((x) => x.server >= 6)) rmSync(f.path);
    const vcap = formatCap(toVerifyCap(cap));
    const plain = await runBuiltCli(['check', vcap, '--config', grid.clientConfigPath]);
    expect(plain.code).toBe(1);
    const res = await runBuiltCli(['check', vcap, '--config', grid.clientConfigPath, '--repair', '--json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as { healthy: boolean; goodShares: number; repaired: { shnum: number; server: string }[]; before: { goodShares: number } };
    expect(report.before.goodShares).toBe(6);
    expect(report.repaired).toHaveLength(4);
    expect(report.goodShares).toBe(10);
    expect(report.healthy).toBe(true);
    const text = await runBuiltCli(['check', vcap, '--config', grid.clientConfigPath, '--repair']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^before repair: healthy: 10\/10 shares good/);
    expect(text.stdout).toMatch(/nothing to repair/);
    expectRebuiltIdentical(cap, original);
  });
});
