/**
 * `intergrid check CAP --config C [--json]`: verifies every block of every
 * share copy of a file (works from a read-cap or a verify-cap).
 * With --add-lease it also adds or renews the account's lease on every
 * server holding a share (shares live only as long as some lease).
 * Exit status: 0 healthy, 1 otherwise (unhealthy, unrecoverable, or failed).
 */
import { parseCap } from '../../../libs/caps/index.js';
import { checkFile, type CheckResult } from '../../../libs/client/index.js';
import { openClient } from '../client-session.js';

export interface CheckOptions {
  config: string;
  json?: boolean;
  addLease?: boolean;
}

export function formatCheck(r: CheckResult): string {
  const lines = [
    `${r.healthy ? 'healthy' : r.recoverable ? 'NOT HEALTHY (recoverable)' : 'NOT RECOVERABLE'}: ` +
      `${r.goodShares}/${r.n} shares good (k=${r.k}), on ${r.happiness} servers (happy=${r.happy})`,
  ];
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

export async function checkCommand(capText: string, opts: CheckOptions): Promise<void> {
  const cap = parseCap(capText.trim());
  const conn = await openClient(opts.config);
  try {
    const result = await checkFile(conn, cap, { addLease: opts.addLease === true });
    process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatCheck(result));
    if (!result.healthy) process.exitCode = 1;
  } finally {
    conn.close();
  }
}
