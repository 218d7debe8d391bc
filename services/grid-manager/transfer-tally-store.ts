/**
 * Per-account long-distance transfer tallies, fed by the usage events the
 * gateway publishes on NATS (docs/events.md). Exactly-once counting on top
 * of at-least-once delivery: each event is applied in ONE transaction that
 * inserts its id into gm_processed_events (primary key) and adds it to the
 * (account, remote area) tally; an id already there is skipped. The message
 * is acked only after that commit, so a crash before the ack redelivers an
 * event the table already holds.
 */
import type { Knex } from 'knex';
import { fromHex } from '../../libs/crypto/index.js';
import type { ClientUsageEvent } from '../../libs/events/index.js';

const PROCESSED = 'gm_processed_events';
const TALLIES = 'gm_transfer_tallies';

/** One (account, remote area code) line. */
export interface TransferTallyLine {
  account: Uint8Array;
  remoteAreaCode: string;
  bytes: number;
  transfers: number;
  units: number;
}

/** What applying an event did. */
export type ApplyOutcome = 'applied' | 'duplicate';

export class TransferTallyStore {
  constructor(
    private readonly knex: Knex,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts `event` once: records its id and adds it to its tally in one
   * transaction; an id already recorded → 'duplicate', nothing changes.
   * The event must already be checked (libs/events parseClientUsageEvent).
   */
  async apply(event: ClientUsageEvent): Promise<ApplyOutcome> {
    return this.knex.transaction(async (trx) => {
      const seen = await trx(PROCESSED).where({ event_id: event.eventId }).first();
      if (seen) return 'duplicate';
      // A concurrent insert of the same id (two consumers) fails this
      // transaction on the primary key; the message is redelivered and then skipped.
      await trx(PROCESSED).insert({ event_id: event.eventId, processed_at_ms: this.now() });
      const key = { account: event.client, remote_area_code: event.remoteAreaCode };
      const updated = await trx(TALLIES)
        .where(key)
        .update({
          bytes: trx.raw('bytes + ?', [event.bytes]),
          transfers: trx.raw('transfers + 1'),
          units: trx.raw('units + ?', [event.units]),
        });
      if (updated === 0) {
        await trx(TALLIES).insert({ ...key, bytes: event.bytes, transfers: 1, units: event.units });
      }
      return 'applied';
    });
  }

  /** Every tally line, ordered by account then remote area code. */
  async list(): Promise<TransferTallyLine[]> {
    const rows = (await this.knex(TALLIES).select('*').orderBy([{ column: 'account' }, { column: 'remote_area_code' }])) as {
      account: string;
      remote_area_code: string;
      bytes: number | string;
      transfers: number | string;
      units: number | string;
    }[];
    return rows.map((r) => ({
      account: fromHex(r.account, 'stored account', 32),
      remoteAreaCode: r.remote_area_code,
      bytes: Number(r.bytes),
      transfers: Number(r.transfers),
      units: Number(r.units),
    }));
  }

  /** Number of distinct events counted (for tests and metrics). */
  async processedCount(): Promise<number> {
    const row = (await this.knex(PROCESSED).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }
}
