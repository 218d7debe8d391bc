/**
 * Fetching this grid's settlement statements (DESIGN.md "Metering and
 * billing"; docs/billing.md "Statements"). The grid manager asks the
 * clearinghouse for the closed periods it has not stored yet, and for each
 * checks, before storing anything:
 *  - the summary and its own statement verify under the clearinghouse key
 *    from ITS config (libs/ledger openStatement: a forged or tampered
 *    statement, or one signed by another key, is refused);
 *  - both are for the period asked, the statement is for this area code;
 *  - its net balance equals the summary's balance for this grid (no
 *    balance at all = no traffic = net 0).
 * A refused period is reported and asked again at the next poll.
 */
import type { SignedDocument } from '../../libs/auth/index.js';
import { IntegrityError } from '../../libs/errors/index.js';
import { openStatement, type GridStatementBody, type SummaryBody } from '../../libs/ledger/index.js';
import type { StatementStore } from './statement-store.js';

/** The part of the clearinghouse this needs (a grid caller's view). */
export interface StatementSource {
  listPeriods(): Promise<{ id: string }[]>;
  /** The summary and the statements the caller may see (a grid: only its own). */
  getStatements(periodId: string): Promise<{ summary: SignedDocument; statements: SignedDocument[] }>;
}

export interface StatementSyncResult {
  stored: string[];
  refused: { periodId: string; reason: string }[];
}

export interface StatementSyncDeps {
  areaCode: string;
  clearinghousePublicKey: Uint8Array;
  source: StatementSource;
  store: StatementStore;
  now(): number;
}

const EMPTY = new Uint8Array(0);

/**
 * Fetches, verifies and stores every closed period not stored yet.
 * @throws whatever the source throws for listPeriods (the clearinghouse is unreachable); per-period failures are returned in `refused`.
 */
export async function syncStatements(deps: StatementSyncDeps): Promise<StatementSyncResult> {
  const result: StatementSyncResult = { stored: [], refused: [] };
  const have = await deps.store.periodIds();
  for (const { id } of await deps.source.listPeriods()) {
    if (have.has(id)) continue;
    try {
      const got = await deps.source.getStatements(id);
      const stored = verifyPeriod(deps, id, got);
      await deps.store.save({ ...stored, periodId: id, fetchedAtMs: deps.now() });
      result.stored.push(id);
    } catch (err) {
      result.refused.push({ periodId: id, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return result;
}

function verifyPeriod(
  deps: StatementSyncDeps,
  periodId: string,
  got: { summary: SignedDocument; statements: SignedDocument[] },
): { body: Uint8Array; signature: Uint8Array; summaryBody: Uint8Array; summarySignature: Uint8Array; netUnits: number; periodToMs: number } {
  const summary = openStatement(got.summary, deps.clearinghousePublicKey);
  if (summary.kind !== 'summary') throw new IntegrityError(`period '${periodId}': the summary is a ${summary.kind} statement`);
  if (summary.period.id !== periodId) throw new IntegrityError(`period '${periodId}': the summary is for period '${summary.period.id}'`);
  const own = got.statements
    .map((signed) => ({ signed, body: openStatement(signed, deps.clearinghousePublicKey) }))
    .filter((s): s is { signed: SignedDocument; body: GridStatementBody } => s.body.kind === 'grid' && s.body.areaCode === deps.areaCode);
  if (own.length > 1) throw new IntegrityError(`period '${periodId}': ${own.length} statements for area code ${deps.areaCode}`);
  const statement = own[0];
  if (statement && statement.body.period.id !== periodId) {
    throw new IntegrityError(`period '${periodId}': the statement is for period '${statement.body.period.id}'`);
  }
  const balance = (summary as SummaryBody).balances.find((b) => b.areaCode === deps.areaCode)?.netUnits ?? 0;
  const net = statement?.body.netUnits ?? 0;
  if (net !== balance) {
    throw new IntegrityError(`period '${periodId}': the statement's net ${net} units differs from the summary's ${balance} for area code ${deps.areaCode}`);
  }
  return {
    body: statement?.signed.body ?? EMPTY,
    signature: statement?.signed.signature ?? EMPTY,
    summaryBody: got.summary.body,
    summarySignature: got.summary.signature,
    netUnits: net,
    periodToMs: summary.period.toMs,
  };
}
