/**
 * Supervisor.stop: the children adopted with `stopLast` (the Ceph daemons of
 * `up --share-backend s3`) get SIGTERM only after every other child exited,
 * one at a time, the last adopted first (radosgw, OSD, monitor). Real child
 * processes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceChild } from '../../../services/cli/child-process.js';
import { Supervisor } from '../../../services/cli/launcher/supervisor.js';

/** A child that exits `delayMs` after SIGTERM; resolves once it runs, with the time it exited (ms since epoch) to come. */
async function child(name: string, delayMs: number): Promise<{ c: ServiceChild; exitedAt: Promise<number> }> {
  const script = `process.on('SIGTERM', () => setTimeout(() => process.exit(0), ${delayMs})); console.log('up'); setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  const exitedAt = new Promise<number>((resolve) => p.once('exit', () => resolve(Date.now())));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  return { c: { role: 'test', name, address: '', pid: p.pid!, process: p, logFile: '', exited }, exitedAt };
}

describe('Supervisor.stop', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-sup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the stopLast children after all others, the last adopted first', async () => {
    const sup = new Supervisor(dir);
    const plan = (name: string) => ({ role: 'test', name, grid: '-', areaCode: '-', configPath: '', dataDir: '' });
    const mon = await child('mon', 0);
    const rgw = await child('rgw', 200);
    const slow = await child('storage-slow', 400);
    const fast = await child('storage-fast', 0);
    sup.adopt(mon.c, plan('mon'), { stopLast: true });
    sup.adopt(rgw.c, plan('rgw'), { stopLast: true });
    sup.adopt(slow.c, plan('storage-slow'));
    sup.adopt(fast.c, plan('storage-fast'));
    expect(sup.services.map((s) => s.name)).toEqual(['mon', 'rgw', 'storage-slow', 'storage-fast']);
    await sup.stop();
    const [tMon, tRgw, tSlow, tFast] = await Promise.all([mon.exitedAt, rgw.exitedAt, slow.exitedAt, fast.exitedAt]);
    expect(tRgw).toBeGreaterThanOrEqual(Math.max(tSlow, tFast));
    expect(tMon).toBeGreaterThanOrEqual(tRgw);
  });
});
