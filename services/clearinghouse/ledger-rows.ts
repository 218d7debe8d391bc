/**
 * Row shapes of the ledger tables (ledger-schema.ts) and the small helpers
 * the ledger store uses on both SQLite and PostgreSQL: bigint columns come
 * back as numbers (SQLite) or strings (PostgreSQL) and are read with Number()
 * (all below 2^53); bulk writes are split to stay under the bind-variable limits.
 */
import type { Knex } from 'knex';
import type { Dispute, Posting, TransferReports } from '../../libs/ledger/index.js';
import { LEDGER_TABLES } from './ledger-schema.js';

const T_POSTINGS = LEDGER_TABLES.postings;

export type TransferState = 'pending' | 'posted' | 'disputed' | 'void';

/** A ch_transfers row as the store handles it (numbers already converted). */
export interface TransferRow {
  /** The transfer key (libs/usage transferKey: '<gateway hex>:<gateway's transfer id>'). */
  transfer_id: string;
  exporter: string;
  importer: string;
  gateway_key: string;
  contact_point_key: string;
  storage_index: string;
  transfer_at_ms: number;
  served_bytes: number | null;
  served_receipt_sha256: string | null;
  served_price_as_of_ms: number | null;
  /** The served record's startedAtMs (the contact point's clock; null before migration 004). */
  served_started_at_ms: number | null;
  /** The served record's atMs. */
  served_at_ms: number | null;
  receipt_bytes: number | null;
  receipt_sha256: string | null;
  receipt_price_units_per_gib: number | null;
  receipt_price_as_of_ms: number | null;
  price_units_per_gib: number | null;
  price_as_of_ms: number | null;
  state: TransferState;
  first_seen_ms: number;
  posted_at_ms: number | null;
}

/** A ch_disputes row (numbers converted). */
export interface DisputeRow {
  id: number;
  transfer_id: string;
  exporter: string;
  importer: string;
  reason: string;
  detail: string;
  served_bytes: number | null;
  receipt_bytes: number | null;
  price_units_per_gib: number;
  opened_at_ms: number;
  state: 'open' | 'resolved';
  resolution: string | null;
  posted_units: number | null;
  resolved_at_ms: number | null;
  note: string | null;
}

/** A ch_periods row (numbers converted). */
export interface PeriodRow {
  seq: number;
  id: string;
  from_ms: number;
  to_ms: number;
  closed_at_ms: number;
  grids: number;
  transfers: number;
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toTransferRow(r: Record<string, unknown>): TransferRow {
  return {
    transfer_id: String(r.transfer_id),
    exporter: String(r.exporter),
    importer: String(r.importer),
    gateway_key: String(r.gateway_key),
    contact_point_key: String(r.contact_point_key),
    storage_index: String(r.storage_index),
    transfer_at_ms: num(r.transfer_at_ms),
    served_bytes: numOrNull(r.served_bytes),
    served_receipt_sha256: (r.served_receipt_sha256 as string | null) ?? null,
    served_price_as_of_ms: numOrNull(r.served_price_as_of_ms),
    served_started_at_ms: numOrNull(r.served_started_at_ms),
    served_at_ms: numOrNull(r.served_at_ms),
    receipt_bytes: numOrNull(r.receipt_bytes),
    receipt_sha256: (r.receipt_sha256 as string | null) ?? null,
    receipt_price_units_per_gib: numOrNull(r.receipt_price_units_per_gib),
    receipt_price_as_of_ms: numOrNull(r.receipt_price_as_of_ms),
    price_units_per_gib: numOrNull(r.price_units_per_gib),
    price_as_of_ms: numOrNull(r.price_as_of_ms),
    state: String(r.state) as TransferState,
    first_seen_ms: num(r.first_seen_ms),
    posted_at_ms: numOrNull(r.posted_at_ms),
  };
}

/**
 * The one place a transfer row becomes libs/ledger's report types (what
 * matching decides on): a side is present once its bytes are stored.
 */
export function toTransferReports(t: TransferRow): TransferReports {
  return {
    transferId: t.transfer_id,
    exporter: t.exporter,
    importer: t.importer,
    atMs: t.transfer_at_ms,
    served:
      t.served_bytes === null
        ? undefined
        : {
            bytes: t.served_bytes,
            receiptSha256: t.served_receipt_sha256,
            priceAsOfMs: t.served_price_as_of_ms,
            startedAtMs: t.served_started_at_ms,
            atMs: t.served_at_ms,
          },
    receipt:
      t.receipt_bytes === null
        ? undefined
        : {
            bytes: t.receipt_bytes,
            receiptSha256: t.receipt_sha256,
            priceUnitsPerGib: t.receipt_price_units_per_gib ?? 0,
            priceAsOfMs: t.receipt_price_as_of_ms,
          },
  };
}

/** The ch_disputes row of a dispute opened at `now` (libs/ledger openDispute). */
export function disputeRow(d: Dispute, now: number): Record<string, unknown> {
  return {
    transfer_id: d.transferId,
    exporter: d.exporter,
    importer: d.importer,
    reason: d.reason,
    detail: d.detail,
    served_bytes: d.servedBytes,
    receipt_bytes: d.receiptBytes,
    price_units_per_gib: d.priceUnitsPerGib,
    opened_at_ms: now,
    state: 'open',
    resolution: null,
    posted_units: null,
    resolved_at_ms: null,
    note: null,
  };
}

export function toDisputeRow(r: Record<string, unknown>): DisputeRow {
  return {
    id: num(r.id),
    transfer_id: String(r.transfer_id),
    exporter: String(r.exporter),
    importer: String(r.importer),
    reason: String(r.reason),
    detail: String(r.detail),
    served_bytes: numOrNull(r.served_bytes),
    receipt_bytes: numOrNull(r.receipt_bytes),
    price_units_per_gib: num(r.price_units_per_gib),
    opened_at_ms: num(r.opened_at_ms),
    state: String(r.state) as 'open' | 'resolved',
    resolution: (r.resolution as string | null) ?? null,
    posted_units: numOrNull(r.posted_units),
    resolved_at_ms: numOrNull(r.resolved_at_ms),
    note: (r.note as string | null) ?? null,
  };
}

export function toPeriodRow(r: Record<string, unknown>): PeriodRow {
  return {
    seq: num(r.seq),
    id: String(r.id),
    from_ms: num(r.from_ms),
    to_ms: num(r.to_ms),
    closed_at_ms: num(r.closed_at_ms),
    grids: num(r.grids),
    transfers: num(r.transfers),
  };
}

export function toPosting(r: Record<string, unknown>): Posting {
  return {
    transferId: String(r.transfer_id),
    account: String(r.account),
    counterpart: String(r.counterpart),
    role: String(r.role) as 'exporter' | 'importer',
    bytes: num(r.bytes),
    priceUnitsPerGib: num(r.price_units_per_gib),
    amountUnits: num(r.amount_units),
    atMs: num(r.at_ms),
  };
}

/** The ch_postings row of a posting (period_id left NULL: the open period). */
export function postingRow(p: Posting): Record<string, unknown> {
  return {
    transfer_id: p.transferId,
    role: p.role,
    account: p.account,
    counterpart: p.counterpart,
    bytes: p.bytes,
    price_units_per_gib: p.priceUnitsPerGib,
    amount_units: p.amountUnits,
    at_ms: p.atMs,
  };
}

/** Bind variables per statement we allow ourselves (SQLite ≥ 3.32: 32766; PostgreSQL: 65535). */
const MAX_VARS = 30_000;
/** Values per IN (...) list. */
const MAX_IN = 900;

/**
 * Inserts `rows` (all with the same keys) as multi-row `INSERT … VALUES`
 * statements, as few as the variable limit allows; `upsertOn` turns it into
 * `ON CONFLICT (key) DO UPDATE` of every other column (SQLite ≥ 3.24 and
 * PostgreSQL). Raw SQL because knex writes SQLite multi-row inserts as
 * `SELECT … UNION ALL`, limited to 500 terms and slower.
 */
export async function insertChunked(trx: Knex.Transaction, table: string, rows: Record<string, unknown>[], upsertOn?: string): Promise<void> {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const per = Math.max(1, Math.floor(MAX_VARS / cols.length));
  const quoted = cols.map((c) => `"${c}"`).join(', ');
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const conflict = upsertOn
    ? ` on conflict ("${upsertOn}") do update set ${cols
        .filter((c) => c !== upsertOn)
        .map((c) => `"${c}" = excluded."${c}"`)
        .join(', ')}`
    : '';
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const bindings: Knex.Value[] = [];
    for (const r of chunk) for (const c of cols) bindings.push((r[c] ?? null) as Knex.Value);
    await run(trx, `insert into "${table}" (${quoted}) values ${chunk.map(() => tuple).join(', ')}${conflict}`, bindings);
  }
}

/** A posted transfer as ingest writes it: its two postings are derived in SQL (insertTransferPostings). */
export interface PostedTransfer {
  transferId: string;
  exporter: string;
  importer: string;
  bytes: number;
  priceUnitsPerGib: number;
  /** costOf(bytes, price): the exporter's +amount, the importer's −amount. */
  amountUnits: number;
}

/**
 * Inserts the two postings of each transfer (libs/ledger postingsForTransfer's
 * rows: exporter +amount, importer 0 − amount, both at `atMs`) binding 6
 * values per transfer instead of 16: `WITH v AS (VALUES …), r AS (VALUES
 * ('exporter'), ('importer')) INSERT … SELECT … FROM v CROSS JOIN r`
 * (SQLite and PostgreSQL; casts as in updateChunked).
 */
export async function insertTransferPostings(trx: Knex.Transaction, transfers: PostedTransfer[], atMs: number): Promise<void> {
  if (transfers.length === 0) return;
  const per = Math.floor((MAX_VARS - 1) / 6);
  const tuple = '(cast(? as text), cast(? as text), cast(? as text), cast(? as bigint), cast(? as bigint), cast(? as bigint))';
  const exp = "r.role = 'exporter'";
  const tail =
    `), r (role) as (values ('exporter'), ('importer')) ` +
    `insert into "${T_POSTINGS}" ("transfer_id", "role", "account", "counterpart", "bytes", "price_units_per_gib", "amount_units", "at_ms") ` +
    `select v.t, r.role, case when ${exp} then v.e else v.i end, case when ${exp} then v.i else v.e end, v.b, v.p, ` +
    `case when ${exp} then v.a else 0 - v.a end, cast(? as bigint) from v cross join r`;
  for (let i = 0; i < transfers.length; i += per) {
    const chunk = transfers.slice(i, i + per);
    const bindings: Knex.Value[] = [];
    for (const t of chunk) bindings.push(t.transferId, t.exporter, t.importer, t.bytes, t.priceUnitsPerGib, t.amountUnits);
    bindings.push(atMs);
    await run(trx, `with v (t, e, i, b, p, a) as (values ${chunk.map(() => tuple).join(', ')}${tail}`, bindings);
  }
}

/** SQL type of a column written by updateChunked. */
export type ColumnType = 'text' | 'bigint';

/**
 * Sets `columns` (name → type) of existing rows, found by `key` (text), to
 * the values in `rows`, in as few statements as the variable limit allows:
 * `WITH v AS (VALUES …) UPDATE … FROM v` (SQLite ≥ 3.33 and PostgreSQL).
 * Each value is cast to its column's type (PostgreSQL would type parameters
 * in VALUES as text). Only the named columns are bound, not the whole row.
 */
export async function updateChunked(
  trx: Knex.Transaction,
  table: string,
  key: string,
  columns: Record<string, ColumnType>,
  rows: Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const cols = Object.keys(columns);
  const all = [key, ...cols];
  const per = Math.max(1, Math.floor(MAX_VARS / all.length));
  const tuple = `(cast(? as text), ${cols.map((c) => `cast(? as ${columns[c]!})`).join(', ')})`;
  const set = cols.map((c) => `"${c}" = v."${c}"`).join(', ');
  const head = `with v (${all.map((c) => `"${c}"`).join(', ')}) as (values `;
  const tail = `) update "${table}" set ${set} from v where "${table}"."${key}" = v."${key}"`;
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const bindings: Knex.Value[] = [];
    for (const r of chunk) for (const c of all) bindings.push((r[c] ?? null) as Knex.Value);
    await run(trx, `${head}${chunk.map(() => tuple).join(', ')}${tail}`, bindings);
  }
}

/** Runs one write statement in the transaction (on SQLite straight on its connection: sqliteConnection). */
async function run(trx: Knex.Transaction, sql: string, bindings: Knex.Value[]): Promise<void> {
  const sqlite = sqliteConnection(trx);
  if (sqlite) {
    const conn = await sqlite;
    await new Promise<void>((resolve, reject) => conn.run(sql, bindings, (err) => (err ? reject(err) : resolve())));
  } else {
    await trx.raw(sql, bindings);
  }
}

interface SqliteConnection {
  run(sql: string, bindings: unknown[], cb: (err: Error | null) => void): void;
}

/**
 * On SQLite, the transaction's own connection (knex hands it out inside a
 * transaction and ignores its release): bulk inserts then skip knex's raw
 * formatter, which costs ~40 % per bound value on top of node-sqlite3's own
 * binding (docs/billing.md "Performance"). Same statement, same transaction.
 */
function sqliteConnection(trx: Knex.Transaction): Promise<SqliteConnection> | undefined {
  const client = trx.client as { config?: { client?: unknown }; acquireConnection(): Promise<unknown> };
  if (client.config?.client !== 'sqlite3') return undefined;
  return client.acquireConnection().then((c) => {
    if (typeof (c as Partial<SqliteConnection>).run !== 'function') throw new Error('knex returned no sqlite3 connection');
    return c as SqliteConnection;
  });
}

/** SELECT … WHERE column IN (values), in chunks. */
export async function selectIn(
  trx: Knex.Transaction,
  table: string,
  column: string,
  values: string[],
  columns: string[] = ['*'],
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < values.length; i += MAX_IN) {
    const rows = (await trx(table).select(columns).whereIn(column, values.slice(i, i + MAX_IN))) as Record<string, unknown>[];
    out.push(...rows);
  }
  return out;
}
