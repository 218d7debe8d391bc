/**
 * The transactional outbox (DESIGN.md "Events inside a grid"): a service
 * writes each outgoing message (a NATS event, a usage record for the
 * clearinghouse, a receipt for a contact point) into its own outbox table in
 * the SAME transaction as the change it records; a pump (pump.ts) sends it
 * later and marks it sent on the receiver's acknowledgement. A crash or an
 * outage therefore delays messages, never loses them; receivers deduplicate
 * by the row id, so a message sent twice (acked, then crashed before it was
 * marked) is counted once.
 *
 * Rows: id (the message id the receiver dedupes on, unique), channel (which
 * pump sends it), payload (text), state pending | sent | rejected | expired,
 * attempts and the time of the next attempt (per-row backoff, so one dead
 * destination does not hold back the others).
 */
import type { Knex } from 'knex';
import { InvalidArgumentError, assertString } from '../errors/index.js';

export type OutboxState = 'pending' | 'sent' | 'rejected' | 'expired';

/** A message to add. */
export interface OutboxMessage {
  /** The message id the receiver deduplicates on (1–220 characters). */
  id: string;
  /** Which pump sends it (e.g. 'nats', 'clearinghouse', 'receipt-delivery'). */
  channel: string;
  payload: string;
}

/** A stored message. */
export interface OutboxRow extends OutboxMessage {
  createdAtMs: number;
  attempts: number;
  lastError: string | null;
}

interface DbRow {
  seq: number;
  id: string;
  channel: string;
  payload: string;
  state: OutboxState;
  created_at_ms: number | string;
  next_attempt_at_ms: number | string;
  attempts: number;
  last_error: string | null;
  done_at_ms: number | string | null;
}

/**
 * Creates an outbox table; call it from a service's migration.
 * @example await createOutboxTable(knex, 'gw_outbox')
 */
export async function createOutboxTable(knex: Knex, table: string): Promise<void> {
  await knex.schema.createTable(table, (t) => {
    t.increments('seq').primary();
    t.string('id', 220).notNullable().unique();
    t.string('channel', 64).notNullable();
    t.text('payload').notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('next_attempt_at_ms').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.bigInteger('done_at_ms');
    t.index(['channel', 'state', 'next_attempt_at_ms']);
  });
}

const MAX_ID = 220;
const MAX_ERROR = 500;

/** Counts of a channel's rows by state. */
export type OutboxCounts = Record<OutboxState, number>;

/** One service's outbox table. */
export class Outbox {
  constructor(
    readonly knex: Knex,
    readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds messages inside the caller's transaction. A message whose id is
   * already in the table is ignored (adding is idempotent).
   * @throws InvalidArgumentError for an empty or over-long id or channel.
   */
  async add(trx: Knex | Knex.Transaction, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const at = this.now();
    const rows = messages.map((m) => {
      assertString('outbox id', m.id);
      assertString('outbox channel', m.channel);
      if (m.id.length > MAX_ID) throw new InvalidArgumentError(`outbox id '${m.id.slice(0, 40)}…' is longer than ${MAX_ID} characters`);
      if (typeof m.payload !== 'string') throw new InvalidArgumentError(`outbox message '${m.id}': payload must be text`);
      return { id: m.id, channel: m.channel, payload: m.payload, state: 'pending', created_at_ms: at, next_attempt_at_ms: at, attempts: 0 };
    });
    await trx(this.table).insert(rows).onConflict('id').ignore();
  }

  /** Up to `limit` pending messages of `channel` due now, oldest first. */
  async due(channel: string, limit: number): Promise<OutboxRow[]> {
    const rows: DbRow[] = await this.knex(this.table)
      .where({ channel, state: 'pending' })
      .andWhere('next_attempt_at_ms', '<=', this.now())
      .orderBy('seq')
      .limit(limit);
    return rows.map((r) => ({ id: r.id, channel: r.channel, payload: r.payload, createdAtMs: Number(r.created_at_ms), attempts: r.attempts, lastError: r.last_error }));
  }

  /** When the next pending message of `channel` is due (ms), or null when none is pending. */
  async nextDueAt(channel: string): Promise<number | null> {
    const row = (await this.knex(this.table).where({ channel, state: 'pending' }).min({ at: 'next_attempt_at_ms' }).first()) as
      | { at: number | string | null }
      | undefined;
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  /** Marks messages sent (acknowledged by the receiver). */
  async markSent(ids: readonly string[]): Promise<void> {
    await this.finish(ids, 'sent', null);
  }

  /** Marks a message refused by the receiver for good (it is not retried); `reason` is kept. */
  async markRejected(id: string, reason: string): Promise<void> {
    await this.finish([id], 'rejected', reason);
  }

  /** Gives up on a message (too old to be useful); `reason` is kept. */
  async markExpired(id: string, reason: string): Promise<void> {
    await this.finish([id], 'expired', reason);
  }

  /** Records a failed attempt; the message is due again at `retryAtMs`. */
  async markFailed(id: string, error: string, retryAtMs: number): Promise<void> {
    await this.knex(this.table)
      .where({ id, state: 'pending' })
      .update({ last_error: error.slice(0, MAX_ERROR), next_attempt_at_ms: retryAtMs, attempts: this.knex.raw('attempts + 1') });
  }

  /** Rows per state for `channel` (or all channels). */
  async counts(channel?: string): Promise<OutboxCounts> {
    const q = this.knex(this.table).select('state').count({ n: '*' }).groupBy('state');
    if (channel !== undefined) q.where({ channel });
    const rows = (await q) as { state: OutboxState; n: number | string }[];
    const out: OutboxCounts = { pending: 0, sent: 0, rejected: 0, expired: 0 };
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  /** The stored state of one message (tests, status). */
  async stateOf(id: string): Promise<{ state: OutboxState; attempts: number; lastError: string | null } | undefined> {
    const r: DbRow | undefined = await this.knex(this.table).where({ id }).first();
    return r ? { state: r.state, attempts: r.attempts, lastError: r.last_error } : undefined;
  }

  private async finish(ids: readonly string[], state: OutboxState, reason: string | null): Promise<void> {
    if (ids.length === 0) return;
    const at = this.now();
    // Chunked: SQLite limits the number of bound parameters in one statement.
    for (let i = 0; i < ids.length; i += 500) {
      await this.knex(this.table)
        .whereIn('id', ids.slice(i, i + 500))
        .andWhere({ state: 'pending' })
        .update({ state, done_at_ms: at, ...(reason === null ? {} : { last_error: reason.slice(0, MAX_ERROR) }) });
    }
  }
}
