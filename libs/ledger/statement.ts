/**
 * Period statements. When the operator closes a period, the clearinghouse
 * folds the period's postings into one statement per grid (a line per
 * counterpart grid, and the grid's net balance) and a summary listing every
 * grid's net balance. Double entry makes the summary sum to exactly 0; that
 * is asserted here, so a statement that does not balance is never signed.
 *
 * Byte form: canonical JSON (libs/auth canonicalJson: sorted keys, no
 * whitespace) signed by the clearinghouse key under STATEMENT_TAG. Arrays are
 * ordered by area code (string order), so the same postings always give the
 * same bytes, whatever order they arrive in.
 */
import { assertAreaCode } from '../caps/index.js';
import { InternalError, InvalidArgumentError, assertInt, assertString } from '../errors/index.js';
import { sumUnits } from './money.js';
import type { Posting } from './posting.js';

/** Document tag of a signed statement or summary. */
export const STATEMENT_TAG = 'intergrid:statement:v1';
export const STATEMENT_VERSION = 1;

/** A billing period: postings with fromMs <= atMs < toMs. */
export interface Period {
  id: string;
  fromMs: number;
  toMs: number;
}

/** A grid's traffic with one counterpart grid in a period. */
export interface StatementLine {
  counterpart: string;
  /** Bytes this grid served to the counterpart. */
  bytesExported: number;
  /** Bytes this grid received from the counterpart. */
  bytesImported: number;
  /** Units credited for exports (>= 0). */
  unitsCredited: number;
  /** Units debited for imports (>= 0, a magnitude). */
  unitsDebited: number;
  /** unitsCredited − unitsDebited. */
  netUnits: number;
}

/** One grid's statement body for a period (what is signed). */
export interface GridStatementBody {
  version: 1;
  kind: 'grid';
  period: Period;
  areaCode: string;
  /** Ordered by counterpart area code. */
  lines: StatementLine[];
  /** Sum of the lines' netUnits: + the grid is owed, − it owes. */
  netUnits: number;
}

/** The period summary body (what is signed). */
export interface SummaryBody {
  version: 1;
  kind: 'summary';
  period: Period;
  /** Ordered by area code. */
  balances: { areaCode: string; netUnits: number }[];
  /** Always 0: the sum of the balances. */
  totalUnits: 0;
}

export type StatementBody = GridStatementBody | SummaryBody;

/** Everything a period close produces. */
export interface PeriodStatements {
  /** One per grid with postings in the period, ordered by area code. */
  statements: GridStatementBody[];
  summary: SummaryBody;
}

function byCode(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkPeriod(p: Period): Period {
  assertString('period id', p.id);
  if (p.id.length > 100) throw new InvalidArgumentError(`period id '${p.id.slice(0, 40)}…' is longer than 100 characters`);
  assertInt('period fromMs', p.fromMs);
  assertInt('period toMs', p.toMs);
  if (p.toMs <= p.fromMs) throw new InvalidArgumentError(`period '${p.id}' ends (${p.toMs}) at or before it starts (${p.fromMs})`);
  return { id: p.id, fromMs: p.fromMs, toMs: p.toMs };
}

interface Tally {
  bytesExported: bigint;
  bytesImported: bigint;
  credited: bigint;
  debited: bigint;
}

function safe(name: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`${name} ${v} is outside the safe-integer range`);
  }
  return Number(v);
}

/**
 * Builds the statements and summary of `period` from its postings.
 * @example const { statements, summary } = buildStatements({ id: '2026-11', fromMs, toMs }, postings)
 * @throws InvalidArgumentError for a malformed period or posting, a posting
 *   outside the period, or totals beyond the safe-integer range.
 * @throws InternalError if the balances do not sum to zero (postings that are
 *   not whole double-entry pairs).
 */
export function buildStatements(period: Period, postings: Iterable<Posting>): PeriodStatements {
  const p = checkPeriod(period);
  const grids = new Map<string, Map<string, Tally>>();
  let i = 0;
  for (const posting of postings) {
    const at = `posting[${i++}]`;
    assertAreaCode(`${at}.account`, posting.account);
    assertAreaCode(`${at}.counterpart`, posting.counterpart);
    assertInt(`${at}.bytes`, posting.bytes);
    assertInt(`${at}.amountUnits`, posting.amountUnits, -Number.MAX_SAFE_INTEGER);
    assertInt(`${at}.atMs`, posting.atMs);
    if (posting.atMs < p.fromMs || posting.atMs >= p.toMs) {
      throw new InvalidArgumentError(`${at} (transfer '${posting.transferId}') at ${posting.atMs} is outside period '${p.id}' [${p.fromMs}, ${p.toMs})`);
    }
    let lines = grids.get(posting.account);
    if (!lines) grids.set(posting.account, (lines = new Map()));
    let t = lines.get(posting.counterpart);
    if (!t) lines.set(posting.counterpart, (t = { bytesExported: 0n, bytesImported: 0n, credited: 0n, debited: 0n }));
    // The role says the direction (a free transfer has amount 0 either way);
    // the sign must agree with it.
    if (posting.role === 'exporter' && posting.amountUnits >= 0) {
      t.bytesExported += BigInt(posting.bytes);
      t.credited += BigInt(posting.amountUnits);
    } else if (posting.role === 'importer' && posting.amountUnits <= 0) {
      t.bytesImported += BigInt(posting.bytes);
      t.debited += BigInt(-posting.amountUnits);
    } else {
      throw new InvalidArgumentError(`${at} (transfer '${posting.transferId}'): role '${String(posting.role)}' with amount ${posting.amountUnits}; exporters are credited (>= 0), importers debited (<= 0)`);
    }
  }
  const statements: GridStatementBody[] = [];
  for (const code of [...grids.keys()].sort(byCode)) {
    const lines: StatementLine[] = [];
    const tallies = grids.get(code)!;
    for (const cp of [...tallies.keys()].sort(byCode)) {
      const t = tallies.get(cp)!;
      lines.push({
        counterpart: cp,
        bytesExported: safe(`${code}→${cp} bytesExported`, t.bytesExported),
        bytesImported: safe(`${code}←${cp} bytesImported`, t.bytesImported),
        unitsCredited: safe(`${code}/${cp} unitsCredited`, t.credited),
        unitsDebited: safe(`${code}/${cp} unitsDebited`, t.debited),
        netUnits: safe(`${code}/${cp} netUnits`, t.credited - t.debited),
      });
    }
    const netUnits = sumUnits(`grid ${code} net`, lines.map((l) => l.netUnits));
    statements.push({ version: STATEMENT_VERSION, kind: 'grid', period: p, areaCode: code, lines, netUnits });
  }
  const balances = statements.map((s) => ({ areaCode: s.areaCode, netUnits: s.netUnits }));
  let total = 0n;
  for (const b of balances) total += BigInt(b.netUnits);
  if (total !== 0n) {
    throw new InternalError(`period '${p.id}': balances sum to ${total}, not 0 — the postings are not whole double-entry pairs`);
  }
  return { statements, summary: { version: STATEMENT_VERSION, kind: 'summary', period: p, balances, totalUnits: 0 } };
}
