/**
 * Storage server schema (forward-only migrations; docs/storage.md "Tables").
 * Keys are hex text so the same schema runs on SQLite and PostgreSQL; sizes
 * and times are bigint (read back with Number(), all below 2^53).
 */
import type { Knex } from 'knex';
import type { Migration } from '../../libs/db/index.js';
import { createRevokedSetTables } from '../../libs/grid/index.js';

export const STORAGE_MIGRATIONS_TABLE = 'storage_migrations';
/** storage_revoked, storage_revocation_cursor. */
export const STORAGE_REVOKED_PREFIX = 'storage';

export const storageMigrations: Migration[] = [
  {
    name: '001-initial',
    async up(knex: Knex): Promise<void> {
      // A complete, durable share. A row exists only after the share file was
      // fsynced and renamed into place: the row is the acknowledgement.
      await knex.schema.createTable('shares', (t) => {
        t.string('storage_index', 32).notNullable();
        t.integer('share_number').notNullable();
        t.bigInteger('size').notNullable();
        t.bigInteger('created_at_ms').notNullable();
        t.primary(['storage_index', 'share_number']);
      });
      // One lease per (storage index, account); it keeps every share of the index alive.
      await knex.schema.createTable('leases', (t) => {
        t.string('storage_index', 32).notNullable();
        t.string('account', 64).notNullable();
        t.bigInteger('expires_at_ms').notNullable();
        t.primary(['storage_index', 'account']);
        t.index(['account']);
        t.index(['expires_at_ms']);
      });
      // Space reserved by AllocateBuckets and not yet written (counts against quota).
      await knex.schema.createTable('allocations', (t) => {
        t.string('storage_index', 32).notNullable();
        t.integer('share_number').notNullable();
        t.string('account', 64).notNullable();
        t.bigInteger('size').notNullable();
        t.bigInteger('expires_at_ms').notNullable();
        t.primary(['storage_index', 'share_number', 'account']);
        t.index(['account']);
      });
      // AdviseCorrupt reports, kept for the operator.
      await knex.schema.createTable('corrupt_reports', (t) => {
        t.increments('id').primary();
        t.string('storage_index', 32).notNullable();
        t.integer('share_number').notNullable();
        t.string('reporter', 64).notNullable();
        t.string('reason', 1024).notNullable();
        t.bigInteger('reported_at_ms').notNullable();
      });
    },
  },
  {
    name: '002-revocations',
    // Keys the grid manager revoked, and its ListRevocations cursor (libs/grid
    // RevokedSet): loaded before the server serves, so a restart never
    // re-admits a revoked key.
    up: (knex: Knex) => createRevokedSetTables(knex, STORAGE_REVOKED_PREFIX),
  },
];
