/**
 * Contact point schema (forward-only migrations; docs/contact-point.md
 * "Store"). Keys and storage indexes are lowercase hex text so the same
 * schema runs on SQLite and PostgreSQL; byte counts and times are bigint
 * (read back with Number(), all below 2^53).
 */
import type { Knex } from 'knex';
import type { Migration } from '../../libs/db/index.js';
import { createOutboxTable } from '../../libs/outbox/index.js';
import { createRevokedSetTables } from '../../libs/grid/index.js';

export const CONTACT_POINT_MIGRATIONS_TABLE = 'contact_point_migrations';
export const CONTACT_POINT_TRANSFERS_TABLE = 'cp_transfers';
export const CONTACT_POINT_OUTBOX_TABLE = 'cp_outbox';
/** cp_revoked, cp_revocation_cursor: the clearinghouse's sanctions (sanctions.ts). */
export const CONTACT_POINT_SANCTIONS_PREFIX = 'cp';

export const contactPointMigrations: Migration[] = [
  {
    name: '001-transfers-and-outbox',
    async up(knex: Knex): Promise<void> {
      // One row per transfer served, keyed by (gateway key, transfer id): the
      // id is the gateway's choice, so one gateway cannot touch another's rows.
      await knex.schema.createTable(CONTACT_POINT_TRANSFERS_TABLE, (t) => {
        t.string('gateway_key', 64).notNullable();
        t.string('transfer_id', 128).notNullable();
        t.string('gateway_area', 8).notNullable();
        t.string('storage_index', 32).notNullable();
        /** Ciphertext bytes of verified segments handed to gRPC (written at the end of FetchSegments). */
        t.bigInteger('bytes').notNullable().defaultTo(0);
        t.integer('segments').notNullable().defaultTo(0);
        /** open | done | cancelled | failed | interrupted (open when this process stopped) | receipt-only (row made from a receipt). */
        t.string('state', 16).notNullable();
        t.bigInteger('started_at_ms').notNullable();
        t.bigInteger('ended_at_ms');
        /** The gateway's signed receipt (base64), once SubmitReceipt brought it. */
        t.text('receipt_body');
        t.text('receipt_signature');
        t.bigInteger('receipt_bytes');
        /** True once the served record is in the outbox (with or without receipt). */
        t.boolean('reported').notNullable().defaultTo(false);
        /** The bytes the served record claims. */
        t.bigInteger('reported_bytes');
        t.primary(['gateway_key', 'transfer_id']);
        t.index(['reported', 'state', 'ended_at_ms']);
      });
      await createOutboxTable(knex, CONTACT_POINT_OUTBOX_TABLE);
    },
  },
  {
    name: '002-sanctions',
    // Suspended grids and revoked gateway approvals learnt from the
    // clearinghouse, with its ListSanctions cursor (sanctions.ts): loaded
    // before the contact point serves, so a restart never re-admits them.
    up: (knex: Knex) => createRevokedSetTables(knex, CONTACT_POINT_SANCTIONS_PREFIX),
  },
];
