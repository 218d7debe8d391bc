/**
 * Periods and statements (docs/billing.md "Periods"). Closing a period, in
 * one transaction: pending transfers older than the grace become
 * 'missing-side' disputes; every posting not yet in a period is assigned to
 * the new one, [end of the previous period (or 0), now); libs/ledger
 * buildStatements folds them into one statement per grid and a summary
 * (balances sum to exactly 0), each signed with the clearinghouse key and
 * stored.
 */
import { buildStatements, missingSide, openDispute, signStatement } from '../../libs/ledger/index.js';
import type { KeyPair } from '../../libs/crypto/index.js';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../libs/errors/index.js';
import { LEDGER_TABLES as T } from './ledger-schema.js';
import { disputeRow, insertChunked, toPeriodRow, toPosting, toTransferReports, toTransferRow, type PeriodRow } from './ledger-rows.js';
import type { LedgerStore } from './ledger-store.js';
import { PriceBook } from './price-book.js';

/** One stored signed statement; areaCode '' = the summary. */
export interface StoredStatement {
  areaCode: string;
  body: Uint8Array;
  signature: Uint8Array;
}

export interface PeriodStatementsRecord {
  period: PeriodRow;
  summary: StoredStatement;
  statements: StoredStatement[];
}

const PERIOD_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Checks a requested period id. */
export function periodIdArg(id: string): string {
  if (!PERIOD_ID.test(id)) throw new InvalidArgumentError(`period id '${id.slice(0, 40)}' is not 1–100 letters, digits, '.', '_' or '-'`);
  return id;
}

export class PeriodStore {
  constructor(
    private readonly ledger: LedgerStore,
    private readonly key: KeyPair,
  ) {}

  /**
   * Closes the open period as `requestedId` (default: the next integer).
   * @throws AlreadyExistsError when a period with that id exists.
   */
  close(requestedId: string | undefined, now: number, unmatchedGraceMs: number): Promise<PeriodRow> {
    const knex = this.ledger.knex;
    return this.ledger.exclusive(async () => {
      const period = await knex.transaction(async (trx) => {
        // 1. Stale single sides become disputes first (they are then not pending).
        const stale = ((await trx(T.transfers).where({ state: 'pending' }).andWhere('first_seen_ms', '<', now - unmatchedGraceMs)) as Record<string, unknown>[]).map(toTransferRow);
        if (stale.length > 0) {
          const prices = await PriceBook.load(trx, stale.map((t) => t.exporter));
          const disputes = stale.map((t) => {
            const reports = toTransferReports(t);
            return disputeRow(openDispute(reports, missingSide(reports, prices.history(t.exporter))), now);
          });
          await insertChunked(trx, T.disputes, disputes);
          const ids = stale.map((t) => t.transfer_id);
          for (let i = 0; i < ids.length; i += 900) await trx(T.transfers).whereIn('transfer_id', ids.slice(i, i + 900)).update({ state: 'disputed' });
        }
        // 2. The period's id and bounds.
        const existing = ((await trx(T.periods).select('*').orderBy('seq')) as Record<string, unknown>[]).map(toPeriodRow);
        const taken = new Set(existing.map((p) => p.id));
        let id: string;
        if (requestedId !== undefined) {
          id = periodIdArg(requestedId);
          if (taken.has(id)) throw new AlreadyExistsError(`period '${id}' is already closed`);
        } else {
          let n = existing.length + 1;
          while (taken.has(String(n))) n++;
          id = String(n);
        }
        const fromMs = existing.length > 0 ? existing[existing.length - 1]!.to_ms : 0;
        // 3. Every unassigned posting joins it.
        await trx(T.postings).whereNull('period_id').update({ period_id: id });
        const postings = ((await trx(T.postings).where({ period_id: id })) as Record<string, unknown>[]).map(toPosting);
        let toMs = Math.max(now, fromMs + 1);
        for (const p of postings) if (p.atMs >= toMs) toMs = p.atMs + 1;
        // 4. Statements, signed, stored.
        const built = buildStatements({ id, fromMs, toMs }, postings);
        const rows = [
          { period_id: id, area_code: '', ...signed(signStatement(built.summary, this.key)) },
          ...built.statements.map((s) => ({ period_id: id, area_code: s.areaCode, ...signed(signStatement(s, this.key)) })),
        ];
        await insertChunked(trx, T.statements, rows);
        const transfers = postings.filter((p) => p.role === 'exporter').length;
        await trx(T.periods).insert({ id, from_ms: fromMs, to_ms: toMs, closed_at_ms: now, grids: built.statements.length, transfers });
        return toPeriodRow((await trx(T.periods).where({ id }).first()) as Record<string, unknown>);
      });
      this.ledger.periodClosed(period.to_ms);
      return period;
    });
  }

  /** Closed periods, oldest first. */
  async list(): Promise<PeriodRow[]> {
    return ((await this.ledger.knex(T.periods).select('*').orderBy('seq')) as Record<string, unknown>[]).map(toPeriodRow);
  }

  /**
   * The signed statements of `periodId` (default: the latest closed period);
   * `onlyArea` limits the grid statements to that area code (the summary is always included).
   * @throws NotFoundError when no such period (or none at all) is closed.
   */
  async statements(periodId: string | undefined, onlyArea?: string): Promise<PeriodStatementsRecord> {
    const knex = this.ledger.knex;
    const raw = (periodId ? await knex(T.periods).where({ id: periodId }).first() : await knex(T.periods).orderBy('seq', 'desc').first()) as
      | Record<string, unknown>
      | undefined;
    if (!raw) throw new NotFoundError(periodId ? `period '${periodId}' is not closed (or does not exist)` : 'no period has been closed yet');
    const period = toPeriodRow(raw);
    const q = knex(T.statements).where({ period_id: period.id }).orderBy('area_code');
    if (onlyArea !== undefined) void q.whereIn('area_code', ['', onlyArea]);
    const rows = ((await q) as Record<string, unknown>[]).map((r) => ({
      areaCode: String(r.area_code),
      body: new Uint8Array(r.body as Buffer),
      signature: new Uint8Array(r.signature as Buffer),
    }));
    const summary = rows.find((r) => r.areaCode === '');
    if (!summary) throw new NotFoundError(`period '${period.id}' has no stored summary`);
    return { period, summary, statements: rows.filter((r) => r.areaCode !== '') };
  }
}

function signed(doc: { body: Uint8Array; signature: Uint8Array }): { body: Buffer; signature: Buffer } {
  return { body: Buffer.from(doc.body), signature: Buffer.from(doc.signature) };
}
