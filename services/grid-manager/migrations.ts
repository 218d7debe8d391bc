/**
 * Grid manager schema (forward-only migrations; docs/grid-manager.md
 * "Tables"). Keys are lowercase hex text so the same schema runs on SQLite and
 * PostgreSQL; sizes and times are bigint (read back with Number(), all below
 * 2^53).
 */
import type { Knex } from 'knex';
import type { Migration } from '../../libs/db/index.js';
import { createStatementTable } from './statement-store.js';

export const GRID_MANAGER_MIGRATIONS_TABLE = 'grid_manager_migrations';

export const gridManagerMigrations: Migration[] = [
  {
    name: '001-initial',
    async up(knex: Knex): Promise<void> {
      // One row per (key, role) the grid approved. A key may hold several
      // roles (an operator's key can be admin and client); revocation is by
      // key, so it marks every row of the key.
      await knex.schema.createTable('gm_principals', (t) => {
        t.string('subject', 64).notNullable();
        t.string('role', 32).notNullable();
        t.string('name', 256).notNullable();
        t.bigInteger('quota_bytes').notNullable().defaultTo(0);
        /** Requested validity (0 = the grid's default for the role); reused on renewal. */
        t.bigInteger('validity_ms').notNullable().defaultTo(0);
        t.bigInteger('cert_not_after_ms').notNullable().defaultTo(0);
        t.boolean('revoked').notNullable().defaultTo(false);
        t.string('address', 300).nullable();
        t.bigInteger('last_seen_ms').nullable();
        t.bigInteger('created_at_ms').notNullable();
        t.bigInteger('updated_at_ms').notNullable();
        t.primary(['subject', 'role']);
        t.index(['role']);
      });
      // The revocation log: `seq` only grows, so ListRevocations(since) is a range scan.
      await knex.schema.createTable('gm_revocations', (t) => {
        t.increments('seq').primary();
        t.string('subject', 64).notNullable().unique();
        t.bigInteger('revoked_at_ms').notNullable();
      });
      // Each storage server's latest usage report (one row per server).
      await knex.schema.createTable('gm_usage_reports', (t) => {
        t.string('server', 64).notNullable().primary();
        t.string('report_id', 128).notNullable();
        t.bigInteger('at_ms').notNullable();
        t.bigInteger('received_at_ms').notNullable();
      });
      // The per-account lines of each server's latest report.
      await knex.schema.createTable('gm_usage_accounts', (t) => {
        t.string('server', 64).notNullable();
        t.string('account', 64).notNullable();
        t.bigInteger('bytes_stored').notNullable();
        t.bigInteger('shares').notNullable();
        t.primary(['server', 'account']);
        t.index(['account']);
      });
    },
  },
  {
    name: '002-transfer-tallies',
    async up(knex: Knex): Promise<void> {
      // Usage events consumed from NATS (docs/events.md): an event id is
      // inserted in the same transaction as its tally update, so a redelivered
      // or republished event is counted once.
      await knex.schema.createTable('gm_processed_events', (t) => {
        t.string('event_id', 220).notNullable().primary();
        t.bigInteger('processed_at_ms').notNullable();
      });
      // Long-distance transfers received per (client account, remote area code).
      await knex.schema.createTable('gm_transfer_tallies', (t) => {
        t.string('account', 64).notNullable();
        t.string('remote_area_code', 8).notNullable();
        t.bigInteger('bytes').notNullable();
        t.bigInteger('transfers').notNullable();
        t.bigInteger('units').notNullable();
        t.primary(['account', 'remote_area_code']);
      });
    },
  },
  {
    name: '003-statements',
    async up(knex: Knex): Promise<void> {
      // Settlement statements fetched from the clearinghouse and verified (statement-sync.ts).
      await createStatementTable(knex);
    },
  },
  {
    name: '004-invites',
    async up(knex: Knex): Promise<void> {
      // One-time invites (docs/grid-manager.md "Invites"): only a hash of the
      // secret is kept; used_at_ms is set once, in the redeeming transaction.
      await knex.schema.createTable('gm_invites', (t) => {
        t.string('secret_hash', 64).notNullable().primary();
        t.string('role', 32).notNullable();
        t.string('name', 256).notNullable();
        t.bigInteger('quota_bytes').notNullable().defaultTo(0);
        t.bigInteger('validity_ms').notNullable().defaultTo(0);
        t.bigInteger('expires_at_ms').notNullable();
        t.bigInteger('created_at_ms').notNullable();
        t.bigInteger('used_at_ms').nullable();
        t.string('used_by', 64).nullable();
      });
    },
  },
  {
    name: '005-watched-files',
    async up(knex: Knex): Promise<void> {
      // Files the repairer keeps alive (docs/repair.md): the verify-cap and
      // what its last check found; next_check_at_ms orders the work.
      await knex.schema.createTable('gm_watched_files', (t) => {
        t.string('storage_index', 32).notNullable().primary();
        t.text('verify_cap').notNullable();
        t.integer('n').notNullable();
        t.bigInteger('added_at_ms').notNullable();
        t.bigInteger('next_check_at_ms').notNullable();
        t.bigInteger('last_checked_at_ms').nullable();
        t.integer('good_shares').notNullable().defaultTo(0);
        t.integer('happiness').notNullable().defaultTo(0);
        t.boolean('healthy').notNullable().defaultTo(false);
        t.bigInteger('shares_repaired').notNullable().defaultTo(0);
        t.bigInteger('lease_expires_at_ms').notNullable().defaultTo(0);
        t.text('last_problem').notNullable().defaultTo('');
        t.index(['next_check_at_ms']);
      });
    },
  },
];
