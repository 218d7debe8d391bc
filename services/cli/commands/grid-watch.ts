/**
 * `intergrid grid watch|unwatch CAP` and `grid watched`: the files the grid's
 * repairer keeps alive (docs/repair.md). A read-cap is attenuated to its
 * verify-cap here, so the read key never leaves this machine.
 */
import { formatCap, parseCap, toVerifyCap, type VerifyCap } from '../../../libs/caps/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import type { WatchedFileInfo } from '../../../libs/grid/index.js';
import { withManager, type AdminOptions } from './grid.js';

function verifyCapOf(text: string): VerifyCap {
  const cap = parseCap(text.trim());
  return cap.kind === 'verify' ? cap : toVerifyCap(cap);
}

const when = (ms: number): string => (ms ? new Date(ms).toISOString() : '-');

export async function gridWatchCommand(capText: string, opts: AdminOptions): Promise<void> {
  const vcap = verifyCapOf(capText);
  const rec = await withManager(opts, (gm) => gm.watchFile(formatCap(vcap)));
  process.stdout.write(`watching ${toHex(rec.storageIndex)} (${rec.verifyCap}): checked now, then its leases are renewed and it is repaired below happy\n`);
}

export async function gridUnwatchCommand(capText: string, opts: AdminOptions): Promise<void> {
  const si = verifyCapOf(capText).storageIndex;
  await withManager(opts, (gm) => gm.unwatchFile(si));
  process.stdout.write(`no longer watching ${toHex(si)} (its leases run out unless someone renews them)\n`);
}

function row(f: WatchedFileInfo): Record<string, unknown> {
  return {
    storageIndex: toHex(f.storageIndex),
    verifyCap: f.verifyCap,
    goodShares: f.goodShares,
    n: f.n,
    happiness: f.happiness,
    healthy: f.healthy,
    lastChecked: f.lastCheckedAtMs ? new Date(f.lastCheckedAtMs).toISOString() : null,
    nextCheck: new Date(f.nextCheckAtMs).toISOString(),
    leaseExpires: f.leaseExpiresAtMs ? new Date(f.leaseExpiresAtMs).toISOString() : null,
    sharesRepaired: f.sharesRepaired,
    problem: f.lastProblem || null,
  };
}

export async function gridWatchedCommand(opts: AdminOptions & { json?: boolean }): Promise<void> {
  const files = await withManager(opts, (gm) => gm.listWatched());
  if (opts.json) {
    process.stdout.write(JSON.stringify(files.map(row), null, 2) + '\n');
    return;
  }
  if (files.length === 0) {
    process.stdout.write('no watched files (intergrid grid watch CAP adds one)\n');
    return;
  }
  for (const f of files) {
    const state = f.lastCheckedAtMs === 0 ? 'not checked yet' : `${f.healthy ? 'healthy' : 'NOT HEALTHY'} ${f.goodShares}/${f.n} shares on ${f.happiness} servers`;
    process.stdout.write(
      `${toHex(f.storageIndex)}  ${state}  checked ${when(f.lastCheckedAtMs)}  next ${when(f.nextCheckAtMs)}  lease until ${when(f.leaseExpiresAtMs)}  repaired ${f.sharesRepaired}` +
        (f.lastProblem ? `\n    problem: ${f.lastProblem}` : '') +
        '\n',
    );
  }
}
