/**
 * Clearinghouse schema (forward-only migrations; docs/clearinghouse.md
 * "Tables"). Keys are lowercase hex text so the same schema runs on SQLite
 * and PostgreSQL; prices and times are bigint (read back with Number(), all
 * below 2^53).
 */
import type { Knex } from 'knex';
import type { Migration } from '../../libs/db/index.js';
import { addTransferTimes, createLedgerTables } from './ledger-schema.js';
import { createSanctionsTable } from './sanction-store.js';

export const CLEARINGHOUSE_MIGRATIONS_TABLE = 'clearinghouse_migrations';

export const clearinghouseMigrations: Migration[] = [
  {
    name: '001-initial',
    async up(knex: Knex): Promise<void> {
      // One row per admitted grid. A grid manager key joins at most one area
      // code: its contact-point certificates are matched to the grid by it.
      await knex.schema.createTable('ch_grids', (t) => {
        t.string('area_code', 8).notNullable().primary();
        t.string('name', 128).notNullable();
        t.string('gm_key', 64).notNullable().unique();
        t.boolean('suspended').notNullable().defaultTo(false);
        /** The current price (the latest row of ch_prices for this grid). */
        t.bigInteger('price_units_per_gib').notNullable().defaultTo(0);
        t.bigInteger('admitted_at_ms').notNullable();
        t.bigInteger('updated_at_ms').notNullable();
      });
      // Every price a grid ever published, so billing can ask for the price
      // in effect at any moment (the latest row with effective_from_ms <= t).
      await knex.schema.createTable('ch_prices', (t) => {
        t.increments('seq').primary();
        t.string('area_code', 8).notNullable().references('area_code').inTable('ch_grids');
        t.bigInteger('price_units_per_gib').notNullable();
        t.bigInteger('effective_from_ms').notNullable();
        t.index(['area_code', 'effective_from_ms']);
      });
      // Registered contact points; a row is listed in resolutions only while
      // last_seen_ms is fresh (config contactPointFreshnessMs).
      await knex.schema.createTable('ch_contact_points', (t) => {
        t.string('area_code', 8).notNullable().references('area_code').inTable('ch_grids');
        t.string('public_key', 64).notNullable();
        t.string('address', 300).notNullable();
        t.bigInteger('registered_at_ms').notNullable();
        t.bigInteger('last_seen_ms').notNullable();
        t.primary(['area_code', 'public_key']);
        t.index(['area_code', 'last_seen_ms']);
      });
    },
  },
  {
    name: '002-ledger',
    // Billing (docs/billing.md): approved gateways, usage records, transfers,
    // postings, disputes, periods, statements.
    up: createLedgerTables,
  },
  {
    name: '003-grid-invites',
    async up(knex: Knex): Promise<void> {
      // One-time federation invites (docs/clearinghouse.md "Invites"): only a
      // hash of the secret is kept; used_at_ms is set once, in the
      // transaction that admits the grid. area_code '' = the grid's own.
      await knex.schema.createTable('ch_grid_invites', (t) => {
        t.string('secret_hash', 64).notNullable().primary();
        t.string('name', 128).notNullable();
        t.string('area_code', 8).notNullable().defaultTo('');
        t.bigInteger('price_units_per_gib').notNullable().defaultTo(0);
        t.bigInteger('expires_at_ms').notNullable();
        t.bigInteger('created_at_ms').notNullable();
        t.bigInteger('used_at_ms').nullable();
        /** The grid manager key that redeemed it. */
        t.string('used_by', 64).nullable();
      });
    },
  },
  {
    name: '004-transfer-times',
    // Issue 11 (docs/billing.md "Price"): the served record's own times, which
    // bound the receipt's price date. Rows from before stay NULL.
    up: addTransferTimes,
  },
  {
    name: '005-sanctions',
    // Suspensions, reinstatements and revoked gateway approvals, append-only
    // (sanction-store.ts): contact points poll it by seq (ListSanctions).
    up: createSanctionsTable,
  },
];
