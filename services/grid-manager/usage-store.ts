/**
 * Per-account storage usage as reported by the grid's storage servers.
 *
 * A report is a snapshot: "this server holds these bytes for these
 * accounts". The store keeps each server's latest snapshot and sums over
 * servers, so a retried report (same report_id) replaces itself and is
 * counted once, and a report that arrives late (older at_ms, different id)
 * never overwrites a newer one.
 */
import type { Knex } from 'knex';
import { toHex, fromHex, shortKey } from '../../libs/crypto/index.js';
import { assertBytes, assertInt, InvalidArgumentError } from '../../libs/errors/index.js';
import type { UsageReportInput, AccountUsageLine } from '../../libs/grid/index.js';


/** What happened to a report: stored, a retry of the stored one, or older than the stored one. */
export type ReportOutcome = 'applied' | 'replaced-same-id' | 'stale';

/** Bounds on one report, so a server cannot make the manager do unbounded work in one call. */
export const MAX_REPORT_ACCOUNTS = 100_000;
const REPORT_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const INSERT_CHUNK = 200;

const REPORTS = 'gm_usage_reports';
const ACCOUNTS = 'gm_usage_accounts';

/** Checks a report's shape; @throws InvalidArgumentError naming the bad field. */
export function checkUsageReport(report: UsageReportInput): void {
  if (typeof report.reportId !== 'string' || !REPORT_ID_PATTERN.test(report.reportId)) {
    throw new InvalidArgumentError(`report_id '${String(report.reportId).slice(0, 40)}' must be 1..128 printable ASCII characters`);
  }
  assertInt('at_ms', report.atMs);
  if (report.accounts.length > MAX_REPORT_ACCOUNTS) {
    throw new InvalidArgumentError(`usage report has ${report.accounts.length} accounts, at most ${MAX_REPORT_ACCOUNTS} allowed`);
  }
  const seen = new Set<string>();
  for (const [i, a] of report.accounts.entries()) {
    assertBytes(`accounts[${i}].account`, a.account, 32);
    assertInt(`accounts[${i}].bytes_stored`, a.bytesStored);
    assertInt(`accounts[${i}].shares`, a.shares);
    const hex = toHex(a.account);
    if (seen.has(hex)) throw new InvalidArgumentError(`usage report lists account ${shortKey(a.account)} twice`);
    seen.add(hex);
  }
}

export class UsageStore {
  constructor(private readonly knex: Knex) {}

  /**
   * Stores `server`'s report as its latest snapshot, in one transaction.
   * Same report_id as the stored one → replaced (a retry counts once);
   * at_ms older than the stored report's → ignored ('stale').
   * @throws InvalidArgumentError for a malformed report.
   */
  async report(server: Uint8Array, report: UsageReportInput, now: number): Promise<ReportOutcome> {
    assertBytes('server', server, 32);
    checkUsageReport(report);
    const s = toHex(server);
    return this.knex.transaction(async (trx) => {
      const prev: { report_id: string; at_ms: number | string } | undefined = await trx(REPORTS).where({ server: s }).first();
      if (prev && prev.report_id !== report.reportId && report.atMs < Number(prev.at_ms)) return 'stale';
      await trx(ACCOUNTS).where({ server: s }).delete();
      const rows = report.accounts.map((a) => ({ server: s, account: toHex(a.account), bytes_stored: a.bytesStored, shares: a.shares }));
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx(ACCOUNTS).insert(rows.slice(i, i + INSERT_CHUNK));
      await trx(REPORTS)
        .insert({ server: s, report_id: report.reportId, at_ms: report.atMs, received_at_ms: now })
        .onConflict('server')
        .merge(['report_id', 'at_ms', 'received_at_ms']);
      return prev?.report_id === report.reportId ? 'replaced-same-id' : 'applied';
    });
  }

  /** Per-account sums over every server's latest report, ordered by account. */
  async tally(): Promise<AccountUsageLine[]> {
    const rows = (await this.knex(ACCOUNTS)
      .select('account')
      .sum({ bytes: 'bytes_stored', shares: 'shares' })
      .groupBy('account')
      .orderBy('account')) as unknown as { account: string; bytes: number | string; shares: number | string }[];
    return rows.map((r) => ({ account: fromHex(r.account, 'stored account', 32), bytesStored: Number(r.bytes), shares: Number(r.shares) }));
  }

  /** Per server: the totals of its latest report and that report's at_ms (servers that never reported are absent). */
  async perServer(): Promise<{ server: Uint8Array; bytesStored: number; shares: number; atMs: number }[]> {
    const [sums, reports] = await Promise.all([
      this.knex(ACCOUNTS).select('server').sum({ bytes: 'bytes_stored', shares: 'shares' }).groupBy('server') as unknown as Promise<{ server: string; bytes: number | string; shares: number | string }[]>,
      this.knex(REPORTS).select('server', 'at_ms') as Promise<{ server: string; at_ms: number | string }[]>,
    ]);
    const bySum = new Map(sums.map((r) => [r.server, r]));
    return reports.map((r) => {
      const sum = bySum.get(r.server);
      return { server: fromHex(r.server, 'stored server', 32), bytesStored: Number(sum?.bytes ?? 0), shares: Number(sum?.shares ?? 0), atMs: Number(r.at_ms) };
    });
  }

  /**
   * Per account: the most it holds on any one server (quotas are per server)
   * and its total over servers.
   */
  async maxPerServer(): Promise<{ account: Uint8Array; maxServerBytes: number; bytesStored: number }[]> {
    const rows = (await this.knex(ACCOUNTS)
      .select('account')
      .max({ most: 'bytes_stored' })
      .sum({ bytes: 'bytes_stored' })
      .groupBy('account')) as unknown as { account: string; most: number | string; bytes: number | string }[];
    return rows.map((r) => ({ account: fromHex(r.account, 'stored account', 32), maxServerBytes: Number(r.most), bytesStored: Number(r.bytes) }));
  }
}
