/**
 * Gateway schema (forward-only migrations; docs/gateway.md "Store"). Keys
 * and storage indexes are lowercase hex text so the same schema runs on
 * SQLite and PostgreSQL; byte counts, prices and times are bigint (read back
 * with Number(), all below 2^53).
 */
import type { Knex } from 'knex';
import type { Migration } from '../../libs/db/index.js';
import { createOutboxTable } from '../../libs/outbox/index.js';
import { createRevokedSetTables } from '../../libs/grid/index.js';

export const GATEWAY_MIGRATIONS_TABLE = 'gateway_migrations';
export const GATEWAY_TRANSFERS_TABLE = 'gw_transfers';
export const GATEWAY_OUTBOX_TABLE = 'gw_outbox';
/** gw_revoked, gw_revocation_cursor. */
export const GATEWAY_REVOKED_PREFIX = 'gw';

export const gatewayMigrations: Migration[] = [
  {
    name: '001-transfers-and-outbox',
    async up(knex: Knex): Promise<void> {
      // One row per contact-point attempt of a long-distance fetch that
      // delivered verified bytes, with the receipt the gateway signed for it.
      await knex.schema.createTable(GATEWAY_TRANSFERS_TABLE, (t) => {
        t.increments('seq').primary();
        t.string('transfer_id', 128).notNullable().unique();
        /** The client's Fetch call the attempt belonged to (several attempts on failover). */
        t.string('fetch_id', 64).notNullable();
        t.string('client_key', 64).notNullable();
        t.string('remote_area', 8).notNullable();
        t.string('contact_point_key', 64).notNullable();
        t.string('contact_point_address', 300).notNullable();
        t.string('storage_index', 32).notNullable();
        t.bigInteger('bytes').notNullable();
        t.integer('segments').notNullable();
        t.bigInteger('price_units_per_gib').notNullable();
        t.bigInteger('price_as_of_ms').notNullable();
        t.bigInteger('at_ms').notNullable();
        /** The signed receipt (base64 of body and signature). */
        t.text('receipt_body').notNullable();
        t.text('receipt_signature').notNullable();
        t.index(['client_key', 'remote_area']);
      });
      await createOutboxTable(knex, GATEWAY_OUTBOX_TABLE);
    },
  },
  {
    name: '002-revocations',
    // Keys the grid manager revoked, and its ListRevocations cursor (libs/grid
    // RevokedSet): loaded before the gateway serves, so a restart never
    // re-admits a revoked client.
    up: (knex: Knex) => createRevokedSetTables(knex, GATEWAY_REVOKED_PREFIX),
  },
];
