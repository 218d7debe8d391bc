/**
 * The grid's repairer (services/grid-manager/repair-loop.ts, docs/repair.md)
 * on a real grid: storage servers with 10-second leases and a GC every
 * 300 ms, a grid manager whose repairer looks for due files every 200 ms.
 * A watched file outlives its uploader's lease (the repairer renews its own
 * without any command) while an unwatched one is collected; a watched file
 * that drops below happy is repaired back to 10 good shares on its own, one
 * still at happy is left alone; the repairer's metrics say so; WatchFile
 * refuses read-caps, other grids' caps and non-admins.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, checkFile, clientIdentity, type GridConnection } from '../../libs/client/index.js';
import { formatCap, storageIndexFromReadKey, toVerifyCap, type ReadCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { connectGridManager, type WatchedFileInfo } from '../../libs/grid/index.js';
import { isIntergridError } from '../../libs/errors/index.js';
import { SEG, grid, useGrid, download, upload, shareFiles } from './fixtures/client-harness.js';
import { runBuiltCli } from './fixtures/built-cli.js';

// Renewed when half has gone: 5 s of slack for a round delayed on a loaded machine (4 s leases
// expired under CI load, and GC took the watched file).
const LEASE_MS = 10_000;
const logs: string[] = [];
useGrid({
  onGridManagerLog: (m) => void logs.push(m),
  storageConfig: { leaseDurationMs: LEASE_MS, gcIntervalMs: 300 },
  gridManagerConfig: { repairer: { pollMs: 200, retryMs: 500, checkEveryMs: 60_000, happy: 7 }, metrics: { listen: '127.0.0.1:0' } },
});

let conn: GridConnection;
beforeAll(async () => {
  conn = await connectGrid(grid.clientConfig);
});
afterAll(() => conn?.close());

/** Polls `read` until `ok` holds (or fails the test after `ms`). */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? toHex(x) : x))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function watched(cap: ReadCap): Promise<WatchedFileInfo | undefined> {
  const si = toHex(storageIndexFromReadKey(cap.readKey));
  return (await grid.admin.listWatched()).find((f) => toHex(f.storageIndex) === si);
}

function deleteShares(cap: ReadCap, servers: number[]): void {
  const si = storageIndexFromReadKey(cap.readKey);
  for (const i of servers) for (const f of shareFiles(i, si)) rmSync(f);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://${grid.gridManager.metricsAddress!}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('grid repairer', () => {
  let kept: ReadCap;
  let keptData: Buffer;

  it('renews the leases of a watched file without a command: it outlives its uploader\'s lease, an unwatched file does not', async () => {
    keptData = randomBytes(4 * SEG + 5);
    kept = await upload(keptData, 'kept');
    const dropped = await upload(randomBytes(2 * SEG), 'dropped');
    const rec = await grid.admin.watchFile(formatCap(toVerifyCap(kept)));
    expect(rec.verifyCap).toBe(formatCap(toVerifyCap(kept)));
    // The unwatched file's only lease (the uploader's) runs out and GC takes its shares.
    const droppedSi = storageIndexFromReadKey(dropped.readKey);
    await until('the unwatched file to be collected', async () => grid.servers.flatMap((_, i) => shareFiles(i, droppedSi)).length, (n) => n === 0, 3 * LEASE_MS);
    // By then the uploader's lease on the watched file expired too (same age): only the repairer's renewals hold it.
    const w = (await watched(kept))!;
    expect(w.lastCheckedAtMs).toBeGreaterThan(0);
    expect(w.leaseExpiresAtMs).toBeGreaterThan(Date.now());
    expect(w.healthy).toBe(true);
    expect(w.goodShares).toBe(10);
    expect((await download(conn, kept)).bytes.equals(keptData)).toBe(true);
    expect(await metric('intergrid_repairer_leases_renewed_total')).toBeGreaterThanOrEqual(10);
    expect(await metric('intergrid_repairer_files_watched')).toBe(1);
  });

  it('leaves a watched file at happy alone, and repairs it on its own once it drops below happy', async () => {
    deleteShares(kept, [0, 1, 2]); // 7 good shares on 7 servers: still happy=7
    const at7 = await until('a check seeing 7 good shares', () => watched(kept), (w) => w?.goodShares === 7);
    expect(at7!.sharesRepaired).toBe(0);
    deleteShares(kept, [3]); // 6: below happy
    const repaired = await until('the repairer to repair the file', () => watched(kept), (w) => (w?.sharesRepaired ?? 0) >= 4 && w!.goodShares === 10);
    expect(repaired!.healthy).toBe(true);
    expect(repaired!.lastProblem).toBe('');
    const check = await checkFile(conn, kept);
    expect(check.goodShares).toBe(10);
    expect(check.happiness).toBe(10);
    expect((await download(conn, kept)).bytes.equals(keptData)).toBe(true);
    expect(await metric('intergrid_repairer_shares_repaired_total')).toBeGreaterThanOrEqual(4);
    expect(await metric('intergrid_repairer_files_below_happy')).toBe(0);
  });

  it('records an unrecoverable watched file as below happy with the reason', async () => {
    const cap = await upload(randomBytes(SEG), 'lost');
    await grid.admin.watchFile(formatCap(toVerifyCap(cap)));
    await until('the first check', () => watched(cap), (w) => (w?.lastCheckedAtMs ?? 0) > 0 && w!.goodShares === 10);
    deleteShares(cap, [0, 1, 2, 3, 4, 5, 6, 7]);
    const w = await until('a check of the lost file', () => watched(cap), (x) => x?.goodShares === 2);
    expect(w!.lastProblem).toMatch(/not recoverable: 2 good shares, 3 needed/);
    expect(logs.some((l) => l.includes(toHex(storageIndexFromReadKey(cap.readKey))) && l.includes('not recoverable'))).toBe(true);
    expect(await metric('intergrid_repairer_files_below_happy')).toBe(1);
    await grid.admin.unwatchFile(storageIndexFromReadKey(cap.readKey));
    expect(await watched(cap)).toBeUndefined();
  });

  it('WatchFile refuses a read-cap, a cap of another grid and a caller who is not an admin; unwatching an unknown file is NOT_FOUND', async () => {
    await expect(grid.admin.watchFile(formatCap(kept))).rejects.toThrow(/send a verify-cap .*never takes a read key/);
    await expect(grid.admin.watchFile(formatCap({ ...toVerifyCap(kept), areaCode: '999' }))).rejects.toThrow(/area code 999: this grid manager watches only files of its own grid/);
    const asClient = connectGridManager(grid.gridManagerAddress, clientIdentity(grid.clientConfig));
    try {
      await expect(asClient.watchFile(formatCap(toVerifyCap(kept)))).rejects.toSatisfy((e: unknown) => isIntergridError(e, 'PERMISSION_DENIED'));
    } finally {
      asClient.close();
    }
    await expect(grid.admin.unwatchFile(new Uint8Array(16))).rejects.toSatisfy((e: unknown) => isIntergridError(e, 'NOT_FOUND'));
  });

  it('`intergrid grid watch READCAP` sends only the verify-cap; `grid watched --json` lists it; `grid unwatch` removes it', async () => {
    const cap = await upload(randomBytes(SEG), 'cli');
    const admin = ['--admin', grid.adminIdentityPath, '--grid-manager', grid.gridManagerAddress];
    const w = await runBuiltCli(['grid', 'watch', formatCap(cap), ...admin]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    expect(w.stdout).toContain(`watching ${toHex(storageIndexFromReadKey(cap.readKey))}`);
    expect(w.stdout).not.toContain(formatCap(cap));
    await until('the first check', () => watched(cap), (x) => (x?.lastCheckedAtMs ?? 0) > 0);
    const list = await runBuiltCli(['grid', 'watched', '--json', ...admin]);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { verifyCap: string; goodShares: number; healthy: boolean }[];
    const row = rows.find((r) => r.verifyCap === formatCap(toVerifyCap(cap)))!;
    expect(row.goodShares).toBe(10);
    expect(row.healthy).toBe(true);
    const u = await runBuiltCli(['grid', 'unwatch', formatCap(cap), ...admin]);
    expect(u.code).toBe(0);
    expect(await watched(cap)).toBeUndefined();
    const again = await runBuiltCli(['grid', 'unwatch', formatCap(cap), ...admin]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/is not watched/);
  });
});
