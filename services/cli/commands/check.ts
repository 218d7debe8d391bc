/**
 * `intergrid check CAP --config C [--json] [--add-lease] [--repair]`:
 * verifies every block of every share copy of a file (works from a read-cap
 * or a verify-cap). With --add-lease it also adds or renews the account's
 * lease on every server holding a share (shares live only as long as some
 * lease). With --repair it rebuilds the shares that have no good copy onto
 * servers holding none (libs/client/repairer.ts) and reports the check after
 * repair, with what was repaired.
 * Exit status: 0 healthy (after repair), 1 otherwise (unhealthy, unrecoverable, or failed).
 */
import { parseCap } from '../../../libs/caps/index.js';
import { checkFile, repairFile, type CheckResult, type RepairResult } from '../../../libs/client/index.js';
import { openClient } from '../client-session.js';

export interface CheckOptions {
  config: string;
  json?: boolean;
  addLease?: boolean;
  repair?: boolean;
}

function healthLine(r: Pick<CheckResult, 'healthy' | 'recoverable' | 'goodShares' | 'happiness'>, of: CheckResult): string {
  return (
    `${r.healthy ? 'healthy' : r.recoverable ? 'NOT HEALTHY (recoverable)' : 'NOT RECOVERABLE'}: ` +
    `${r.goodShares}/${of.n} shares good (k=${of.k}), on ${r.happiness} servers (happy=${of.happy})`
  );
}

export function formatCheck(r: CheckResult): string {
  const lines = [healthLine(r, r)];
  if (r.missingShares.length) lines.push(`missing or bad shares: ${r.missingShares.join(', ')}`);
  for (const s of [...r.servers].sort((a, b) => a.server.localeCompare(b.server))) {
    if (!s.reachable) {
      lines.push(`  ${s.server} ${s.address}: unreachable (${s.error ?? 'no answer'})`);
      continue;
    }
    if (s.shares.length === 0) {
      lines.push(`  ${s.server} ${s.address}: no shares`);
      continue;
    }
    const parts = s.shares.map((h) => (h.healthy ? `${h.shnum}` : `${h.shnum} BAD (${h.reason ?? 'unknown'})`));
    const lease =
      s.leaseExpiresAtMs !== undefined ? `; lease until ${new Date(s.leaseExpiresAtMs).toISOString()}` : s.leaseError ? `; lease NOT renewed (${s.leaseError})` : '';
    lines.push(`  ${s.server} ${s.address}: ${parts.join(', ')}${lease}`);
  }
  return lines.join('\n') + '\n';
}

/** The repair's own lines, above the check after repair. */
export function formatRepair(r: RepairResult): string {
  const lines = [`before repair: ${healthLine(r.before, r)}`];
  if (r.repaired.length === 0) lines.push(r.before.healthy ? 'nothing to repair' : `NOT REPAIRED: ${r.repairProblem ?? 'no share was written'}`);
  else lines.push(`repaired ${r.repaired.length} shares: ${r.repaired.map((s) => `${s.shnum} → ${s.server}`).join(', ')}`);
  if (r.repaired.length > 0 && r.repairProblem) lines.push(`repair incomplete: ${r.repairProblem}`);
  for (const f of r.repairFailures) lines.push(`  refused or failed: ${f.server}: ${f.reason}`);
  lines.push(r.repaired.length > 0 ? 'after repair:' : 'now:');
  return lines.join('\n') + '\n' + formatCheck(r);
}

export async function checkCommand(capText: string, opts: CheckOptions): Promise<void> {
  const cap = parseCap(capText.trim());
  const conn = await openClient(opts.config);
  try {
    const checkOpts = { addLease: opts.addLease === true };
    if (opts.repair) {
      const result = await repairFile(conn, cap, checkOpts);
      process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatRepair(result));
      if (!result.healthy) process.exitCode = 1;
      return;
    }
    const result = await checkFile(conn, cap, checkOpts);
    process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatCheck(result));
    if (!result.healthy) process.exitCode = 1;
  } finally {
    conn.close();
  }
}
