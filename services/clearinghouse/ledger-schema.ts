/**
 * Migration 002: the billing tables (docs/billing.md "Tables"). Same schema on
 * SQLite and PostgreSQL: keys are lowercase hex text, byte counts, units and
 * times are bigint (read back with Number(); all below 2^53), signed bodies
 * are binary.
 */
import type { Knex } from 'knex';

/** Table names of the ledger (one place, so stores and tests agree). */
export const LEDGER_TABLES = {
  approvals: 'ch_gateway_approvals',
  records: 'ch_usage_records',
  transfers: 'ch_transfers',
  postings: 'ch_postings',
  disputes: 'ch_disputes',
  periods: 'ch_periods',
  statements: 'ch_statements',
} as const;

/** Creates the ledger tables (forward-only). */
export async function createLedgerTables(knex: Knex): Promise<void> {
  const T = LEDGER_TABLES;
  // Every gateway approval issued (ApproveGateway) or presented (a gateway's
  // own certificate on ReportUsage): a receipt's gateway key must be approved
  // for the receipt's importer at the receipt's time.
  await knex.schema.createTable(T.approvals, (t) => {
    t.string('gateway_key', 64).notNullable();
    t.string('area_code', 8).notNullable();
    t.bigInteger('not_before_ms').notNullable();
    t.bigInteger('not_after_ms').notNullable();
    t.bigInteger('recorded_at_ms').notNullable();
    t.primary(['gateway_key', 'area_code', 'not_before_ms', 'not_after_ms']);
  });
  // Every usage record stored, exactly as signed. record_id is the
  // idempotency key (a retry is DUPLICATE); one record per (transfer, kind).
  await knex.schema.createTable(T.records, (t) => {
    t.string('record_id', 230).notNullable().primary();
    t.string('kind', 16).notNullable();
    t.string('transfer_id', 200).notNullable();
    t.string('reporter_key', 64).notNullable();
    t.binary('body').notNullable();
    t.binary('signature').notNullable();
    t.bigInteger('received_at_ms').notNullable();
    t.unique(['transfer_id', 'kind']);
  });
  // One row per transfer, from its first record on: both sides' figures and
  // what became of it (pending → posted | disputed → posted | void).
  await knex.schema.createTable(T.transfers, (t) => {
    t.string('transfer_id', 200).notNullable().primary();
    t.string('exporter', 8).notNullable();
    t.string('importer', 8).notNullable();
    t.string('gateway_key', 64).notNullable();
    t.string('contact_point_key', 64).notNullable();
    t.string('storage_index', 32).notNullable();
    /** The transfer's own time (receipt atMs, else served atMs). */
    t.bigInteger('transfer_at_ms').notNullable();
    t.bigInteger('served_bytes').nullable();
    /** sha256 (hex) of the receipt body embedded in the served record; null = none. */
    t.string('served_receipt_sha256', 64).nullable();
    t.bigInteger('served_price_as_of_ms').nullable();
    t.bigInteger('receipt_bytes').nullable();
    t.string('receipt_sha256', 64).nullable();
    /** The price the gateway's receipt states. */
    t.bigInteger('receipt_price_units_per_gib').nullable();
    t.bigInteger('receipt_price_as_of_ms').nullable();
    /** The exporter's price in effect at price_as_of_ms (clearinghouse price history). */
    t.bigInteger('price_units_per_gib').nullable();
    t.bigInteger('price_as_of_ms').nullable();
    t.string('state', 16).notNullable();
    t.bigInteger('first_seen_ms').notNullable();
    t.bigInteger('posted_at_ms').nullable();
    t.index(['state', 'first_seen_ms']);
  });
  // Double entry: two rows per posted transfer (libs/ledger Posting), at_ms =
  // posting time. period_id is NULL while the period is open.
  await knex.schema.createTable(T.postings, (t) => {
    t.string('transfer_id', 200).notNullable();
    t.string('role', 8).notNullable();
    t.string('account', 8).notNullable();
    t.string('counterpart', 8).notNullable();
    t.bigInteger('bytes').notNullable();
    t.bigInteger('price_units_per_gib').notNullable();
    t.bigInteger('amount_units').notNullable();
    t.bigInteger('at_ms').notNullable();
    t.string('period_id', 100).nullable();
    t.primary(['transfer_id', 'role']);
    t.index(['period_id']);
  });
  await knex.schema.createTable(T.disputes, (t) => {
    t.increments('id').primary();
    t.string('transfer_id', 200).notNullable().unique();
    t.string('exporter', 8).notNullable();
    t.string('importer', 8).notNullable();
    t.string('reason', 32).notNullable();
    t.string('detail', 1000).notNullable();
    t.bigInteger('served_bytes').nullable();
    t.bigInteger('receipt_bytes').nullable();
    t.bigInteger('price_units_per_gib').notNullable();
    t.bigInteger('opened_at_ms').notNullable();
    t.string('state', 16).notNullable();
    t.string('resolution', 32).nullable();
    t.bigInteger('posted_units').nullable();
    t.bigInteger('resolved_at_ms').nullable();
    t.string('note', 1000).nullable();
    t.index(['state']);
  });
  await knex.schema.createTable(T.periods, (t) => {
    t.increments('seq').primary();
    t.string('id', 100).notNullable().unique();
    t.bigInteger('from_ms').notNullable();
    t.bigInteger('to_ms').notNullable();
    t.bigInteger('closed_at_ms').notNullable();
    t.integer('grids').notNullable();
    t.bigInteger('transfers').notNullable();
  });
  // Signed statements of closed periods; area_code '' is the summary.
  await knex.schema.createTable(T.statements, (t) => {
    t.string('period_id', 100).notNullable();
    t.string('area_code', 8).notNullable();
    t.binary('body').notNullable();
    t.binary('signature').notNullable();
    t.primary(['period_id', 'area_code']);
  });
}

/**
 * Migration 004: when the contact point says the transfer began and when it
 * signed its served record (served record v2). Since issue 11 the transfer_id
 * columns of every ledger table hold the transfer KEY, '<gateway hex>:<id>'
 * (libs/usage transferKey, ≤ 193 characters), so two gateways' transfers with
 * the same id are two transfers; rows stored before keep their bare ids.
 */
export async function addTransferTimes(knex: Knex): Promise<void> {
  await knex.schema.alterTable(LEDGER_TABLES.transfers, (t) => {
    t.bigInteger('served_started_at_ms').nullable();
    t.bigInteger('served_at_ms').nullable();
  });
}
