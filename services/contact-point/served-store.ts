/**
 * The contact point's store (knex: SQLite or PostgreSQL): every transfer it
 * served, the gateway's receipt for it, and the outbox (libs/outbox) of the
 * served records it reports to the clearinghouse (docs/contact-point.md
 * "Receipts and served records"). This file holds a transfer's life (begin,
 * count, end) and what is read of transfers; the rest is one module a
 * concern: the table in transfer-rows.ts, signing and queueing served
 * records in served-records.ts (when one is queued, and with which bytes),
 * SubmitReceipt in receipt-intake.ts, the no-receipt sweep in
 * unreceipted-sweep.ts. `ServedStore` is what server.ts and the handlers
 * hold; after a commit that queued a served record it wakes the pump
 * (`onQueued`).
 *
 * What is counted is exactly what the gateway receives as ciphertext: the
 * ciphertext bytes of each verified segment handed to gRPC (the UEB and
 * proof nodes are not). Counting runs in memory while a transfer is open;
 * the row is written when FetchSegments starts and updated at its end.
 *
 * A transfer is named by (gateway key, transfer id) everywhere — rows, the
 * served record's id and its outbox row (served-records.ts) — so two
 * gateways choosing the same id never touch each other's transfer. A
 * (gateway, transfer id) is served ONCE (`begin`): FetchSegments for an id
 * this gateway already used (whatever became of it) is refused before
 * anything is streamed, so a reported transfer can never be fetched again
 * unbilled.
 */
import type { Knex } from 'knex';
import type { SignedDocument } from '../../libs/auth/index.js';
import { bytesEqual, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { PreconditionError } from '../../libs/errors/index.js';
import { Outbox } from '../../libs/outbox/index.js';
import { transferKey, type ReceiptBody } from '../../libs/usage/index.js';
import { CONTACT_POINT_OUTBOX_TABLE } from './migrations.js';
import { ReceiptIntake, type ReceiptOutcome } from './receipt-intake.js';
import { ServedRecords } from './served-records.js';
import { fromRow, isUniqueViolation, receiptOf, TRANSFERS, type TransferRecord, type TransferRow } from './transfer-rows.js';
import { reportUnreceipted } from './unreceipted-sweep.js';

/** Totals per gateway. */
export interface GatewayTotal {
  gateway: string;
  gatewayGrid: string;
  bytes: number;
  segments: number;
  transfers: number;
}

export interface ServedStoreOptions {
  /** This contact point's key: signs the served records. */
  key: KeyPair;
  /** This grid's area code (the exporter of every transfer). */
  areaCode: string;
  now?(): number;
  /** Called after a commit that queued served records (wake the pump). */
  onQueued?(): void;
}

export class ServedStore {
  /** The outbox (channel 'clearinghouse'). */
  readonly outbox: Outbox;
  private readonly live = new Map<string, TransferRecord>();
  private readonly key: KeyPair;
  private readonly now: () => number;
  private readonly served: ServedRecords;
  private readonly receipts: ReceiptIntake;

  private constructor(
    readonly knex: Knex,
    private readonly opts: ServedStoreOptions,
  ) {
    this.outbox = new Outbox(knex, CONTACT_POINT_OUTBOX_TABLE);
    this.key = opts.key;
    this.now = opts.now ?? Date.now;
    this.served = new ServedRecords(this.outbox, { key: opts.key, areaCode: opts.areaCode, now: this.now });
    this.receipts = new ReceiptIntake(knex, this.served, this.now, (gateway, transferId) => this.live.has(liveKey(gateway, transferId)));
  }

  /**
   * Opens the store. Transfers left open by a previous process are marked
   * 'interrupted' (their count was in that process's memory).
   */
  static async open(knex: Knex, opts: ServedStoreOptions): Promise<ServedStore> {
    const store = new ServedStore(knex, opts);
    await knex(TRANSFERS).where({ state: 'open' }).update({ state: 'interrupted', ended_at_ms: store.now() });
    return store;
  }

  /**
   * Writes the row of a new transfer at the start of FetchSegments; count into the returned record.
   * @throws PreconditionError when this gateway already used this transfer id (open, ended,
   *   receipted or reported): a transfer id names one transfer, and serving it again would
   *   stream bytes no report covers.
   */
  async begin(input: { transferId: string; gateway: Uint8Array; gatewayGrid: string; storageIndex: Uint8Array }): Promise<TransferRecord> {
    const gateway = toHex(input.gateway);
    const at = this.now();
    const k = liveKey(gateway, input.transferId);
    const used = (state: string): PreconditionError =>
      new PreconditionError(
        `transfer id '${input.transferId}' was already used by gateway ${gateway.slice(0, 16)}… (${state}): a transfer id names one transfer; use a fresh id for every FetchSegments`,
      );
    if (this.live.has(k)) throw used('in progress');
    const row = {
      gateway_key: gateway,
      transfer_id: input.transferId,
      gateway_area: input.gatewayGrid,
      storage_index: toHex(input.storageIndex),
      bytes: 0,
      segments: 0,
      state: 'open' as const,
      started_at_ms: at,
    };
    const prior: TransferRow | undefined = await this.knex(TRANSFERS).where({ gateway_key: gateway, transfer_id: input.transferId }).first();
    if (prior) throw used(prior.reported ? `${prior.state}, reported` : prior.state);
    try {
      await this.knex(TRANSFERS).insert(row);
    } catch (err) {
      // Two calls with the same id at once: the primary key lets one in.
      if (isUniqueViolation(err)) throw used('in progress');
      throw err;
    }
    if (this.live.has(k)) throw used('in progress');
    const rec: TransferRecord = { ...fromRow({ ...row, ended_at_ms: null, receipt_body: null, receipt_signature: null, receipt_bytes: null, reported: false, reported_bytes: null }) };
    this.live.set(k, rec);
    return rec;
  }

  /** Counts one segment handed to gRPC (in memory until `end`). */
  count(rec: TransferRecord, ciphertextBytes: number): void {
    rec.bytes += ciphertextBytes;
    rec.segments += 1;
  }

  /**
   * Writes the final count and state; if the receipt is already here, queues
   * the served record in the same transaction.
   */
  async end(rec: TransferRecord, state: 'done' | 'cancelled' | 'failed'): Promise<void> {
    const at = this.now();
    rec.state = state;
    rec.endedAtMs = at;
    let queued = false;
    try {
      await this.knex.transaction(async (trx) => {
        const where = { gateway_key: rec.gateway, transfer_id: rec.transferId };
        await trx(TRANSFERS).where(where).update({ bytes: rec.bytes, segments: rec.segments, state, ended_at_ms: at });
        const row: TransferRow | undefined = await trx(TRANSFERS).where(where).first();
        if (row && !row.reported && row.receipt_body !== null && row.receipt_signature !== null) {
          await this.served.queue(trx, fromRow(row), receiptOf(row));
          queued = true;
        }
      });
    } finally {
      this.live.delete(liveKey(rec.gateway, rec.transferId));
    }
    if (queued) this.opts.onQueued?.();
  }

  /** Stores a gateway's receipt (receipt-intake.ts); wakes the pump when that queued its served record. */
  async submitReceipt(receipt: ReceiptBody, signed: SignedDocument): Promise<ReceiptOutcome> {
    const outcome = await this.receipts.submit(receipt, signed);
    if (outcome === 'reported') this.opts.onQueued?.();
    return outcome;
  }

  /**
   * Reports, without receipt, ended transfers with bytes > 0 whose receipt
   * did not come within `waitMs` of their end (unreceipted-sweep.ts); wakes the pump when any was.
   * @returns how many were queued.
   */
  async sweepUnreceipted(waitMs: number): Promise<number> {
    const n = await reportUnreceipted(this.knex, this.served, this.now() - waitMs);
    if (n > 0) this.opts.onQueued?.();
    return n;
  }

  /** The record of a transfer (live counts while open), by id and gateway key (hex) — or the first with that id. */
  async transfer(transferId: string, gateway?: string): Promise<TransferRecord | undefined> {
    if (gateway !== undefined) {
      const l = this.live.get(liveKey(gateway, transferId));
      if (l) return { ...l };
      const r: TransferRow | undefined = await this.knex(TRANSFERS).where({ gateway_key: gateway, transfer_id: transferId }).first();
      return r ? fromRow(r) : undefined;
    }
    for (const l of this.live.values()) if (l.transferId === transferId) return { ...l };
    const r: TransferRow | undefined = await this.knex(TRANSFERS).where({ transfer_id: transferId }).first();
    return r ? fromRow(r) : undefined;
  }

  /** Every stored transfer, oldest first (live counts for open ones). */
  async listTransfers(): Promise<TransferRecord[]> {
    const rows: TransferRow[] = await this.knex(TRANSFERS).orderBy('started_at_ms');
    return rows.map((r) => {
      const l = this.live.get(liveKey(r.gateway_key, r.transfer_id));
      return l ? { ...l } : fromRow(r);
    });
  }

  /** Totals per gateway (including the live counts of open transfers), by gateway key. */
  async byGateway(): Promise<GatewayTotal[]> {
    const rows = (await this.knex(TRANSFERS)
      .select('gateway_key', 'gateway_area')
      .sum({ bytes: 'bytes' })
      .sum({ segments: 'segments' })
      .count({ transfers: '*' })
      .groupBy('gateway_key', 'gateway_area')
      .orderBy('gateway_key')) as { gateway_key: string; gateway_area: string; bytes: number | string; segments: number | string; transfers: number | string }[];
    const totals = new Map<string, GatewayTotal>();
    for (const r of rows) {
      const prev = totals.get(r.gateway_key);
      const t = prev ?? { gateway: r.gateway_key, gatewayGrid: r.gateway_area, bytes: 0, segments: 0, transfers: 0 };
      t.bytes += Number(r.bytes);
      t.segments += Number(r.segments);
      t.transfers += Number(r.transfers);
      totals.set(r.gateway_key, t);
    }
    // Open transfers: the row holds the count before this FetchSegments; the live record the count now.
    if (this.live.size > 0) {
      const stored = new Map((await this.knex(TRANSFERS).where({ state: 'open' })).map((r: TransferRow) => [liveKey(r.gateway_key, r.transfer_id), r]));
      for (const [k, l] of this.live) {
        const t = totals.get(l.gateway);
        const base = stored.get(k);
        if (!t || !base) continue;
        t.bytes += l.bytes - Number(base.bytes);
        t.segments += l.segments - Number(base.segments);
      }
    }
    return [...totals.values()];
  }

  /** Transfers being served right now (FetchSegments still running). */
  openTransfers(): number {
    return this.live.size;
  }

  /** Bytes served to all gateways. */
  async totalBytes(): Promise<number> {
    return (await this.byGateway()).reduce((n, g) => n + g.bytes, 0);
  }

  /** True when `key` is this contact point's key. */
  isOwnKey(key: Uint8Array): boolean {
    return bytesEqual(key, this.key.publicKey);
  }
}

function liveKey(gateway: string, transferId: string): string {
  return transferKey(gateway, transferId);
}
