/**
 * The contact point's store (knex: SQLite or PostgreSQL): every transfer it
 * served, the gateway's receipt for it, and the outbox (libs/outbox) of the
 * served records it reports to the clearinghouse (docs/contact-point.md
 * "Receipts and served records").
 *
 * What is counted is exactly what the gateway receives as ciphertext: the
 * ciphertext bytes of each verified segment handed to gRPC (the UEB and
 * proof nodes are not). Counting runs in memory while a transfer is open;
 * the row is written when FetchSegments starts and updated at its end.
 *
 * A served record (libs/usage signServedRecord) is queued in the SAME
 * transaction as the change that completes it:
 *  - the receipt arrives for an ended transfer, or the transfer ends after
 *    its receipt arrived: bytes = receipt.bytes when that is ≤ the bytes
 *    counted here, else the count here; the receipt is embedded;
 *  - a receipt arrives for a transfer with no usable count here (this
 *    process restarted mid-transfer): a row is made from the receipt and
 *    receipt.bytes is reported;
 *  - an ended transfer with bytes > 0 got no receipt within receiptWaitMs
 *    (sweep): reported without receipt (the clearinghouse disputes it).
 * Each transfer is reported once (record id 'srv-' + transfer id).
 */
import type { Knex } from 'knex';
import type { SignedDocument } from '../../libs/auth/index.js';
import { bytesEqual, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { AlreadyExistsError, InvalidArgumentError } from '../../libs/errors/index.js';
import { CLEARINGHOUSE_CHANNEL, usageRecordPayload } from '../../libs/federation/index.js';
import { Outbox } from '../../libs/outbox/index.js';
import { embedReceipt, servedRecordId, signServedRecord, type ReceiptBody } from '../../libs/usage/index.js';
import { CONTACT_POINT_OUTBOX_TABLE, CONTACT_POINT_TRANSFERS_TABLE } from './migrations.js';

export type TransferState = 'open' | 'done' | 'cancelled' | 'failed' | 'interrupted' | 'receipt-only';

/** One transfer (live counts while open). */
export interface TransferRecord {
  transferId: string;
  /** Gateway public key, hex. */
  gateway: string;
  /** The gateway's area code (from its gateway-approval certificate). */
  gatewayGrid: string;
  /** Storage index of the file, hex. */
  storageIndex: string;
  bytes: number;
  segments: number;
  startedAtMs: number;
  endedAtMs?: number;
  state: TransferState;
  /** The receipt's bytes, once it arrived. */
  receiptBytes?: number;
  /** Whether the served record is queued for the clearinghouse, and with which bytes. */
  reported: boolean;
  reportedBytes?: number;
}

/** Totals per gateway. */
export interface GatewayTotal {
  gateway: string;
  gatewayGrid: string;
  bytes: number;
  segments: number;
  transfers: number;
}

/** What SubmitReceipt did. */
export type ReceiptOutcome = 'stored' | 'reported' | 'duplicate';

export interface ServedStoreOptions {
  /** This contact point's key: signs the served records. */
  key: KeyPair;
  /** This grid's area code (the exporter of every transfer). */
  areaCode: string;
  now?(): number;
  /** Called after a commit that queued served records (wake the pump). */
  onQueued?(): void;
}

type Row = {
  gateway_key: string;
  transfer_id: string;
  gateway_area: string;
  storage_index: string;
  bytes: number | string;
  segments: number;
  state: TransferState;
  started_at_ms: number | string;
  ended_at_ms: number | string | null;
  receipt_body: string | null;
  receipt_signature: string | null;
  receipt_bytes: number | string | null;
  reported: boolean | number;
  reported_bytes: number | string | null;
};

function fromRow(r: Row): TransferRecord {
  return {
    transferId: r.transfer_id,
    gateway: r.gateway_key,
    gatewayGrid: r.gateway_area,
    storageIndex: r.storage_index,
    bytes: Number(r.bytes),
    segments: Number(r.segments),
    startedAtMs: Number(r.started_at_ms),
    ...(r.ended_at_ms === null ? {} : { endedAtMs: Number(r.ended_at_ms) }),
    state: r.state,
    ...(r.receipt_bytes === null ? {} : { receiptBytes: Number(r.receipt_bytes) }),
    reported: Boolean(r.reported),
    ...(r.reported_bytes === null ? {} : { reportedBytes: Number(r.reported_bytes) }),
  };
}

const T = CONTACT_POINT_TRANSFERS_TABLE;

/** States whose byte count is this process's own (a restarted transfer's count was lost). */
const COUNTED: readonly TransferState[] = ['done', 'cancelled', 'failed'];

export class ServedStore {
  /** The outbox (channel 'clearinghouse'). */
  readonly outbox: Outbox;
  private readonly live = new Map<string, TransferRecord>();
  private readonly key: KeyPair;
  private readonly keyHex: string;
  private readonly now: () => number;

  private constructor(
    readonly knex: Knex,
    private readonly opts: ServedStoreOptions,
  ) {
    this.outbox = new Outbox(knex, CONTACT_POINT_OUTBOX_TABLE);
    this.key = opts.key;
    this.keyHex = toHex(opts.key.publicKey);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Opens the store. Transfers left open by a previous process are marked
   * 'interrupted' (their count was in that process's memory).
   */
  static async open(knex: Knex, opts: ServedStoreOptions): Promise<ServedStore> {
    const store = new ServedStore(knex, opts);
    await knex(T).where({ state: 'open' }).update({ state: 'interrupted', ended_at_ms: store.now() });
    return store;
  }

  /** Writes (or reopens) the row of a transfer at the start of FetchSegments; count into the returned record. */
  async begin(input: { transferId: string; gateway: Uint8Array; gatewayGrid: string; storageIndex: Uint8Array }): Promise<TransferRecord> {
    const gateway = toHex(input.gateway);
    const at = this.now();
    const key = { gateway_key: gateway, transfer_id: input.transferId };
    const rec = await this.knex.transaction(async (trx) => {
      // Insert-if-absent first, then read: calls with the same id at once
      // (PostgreSQL runs their transactions concurrently) all find the one row
      // instead of all reading "absent" and failing the later inserts on the key.
      await trx(T)
        .insert({ ...key, gateway_area: input.gatewayGrid, storage_index: toHex(input.storageIndex), bytes: 0, segments: 0, state: 'open', started_at_ms: at })
        .onConflict(['gateway_key', 'transfer_id'])
        .ignore();
      // The same gateway asked again with the same id: the bytes did cross twice, so they add up.
      await trx(T).where(key).update({ state: 'open', ended_at_ms: null });
      const row: Row = await trx(T).where(key).first();
      return { ...fromRow(row), state: 'open' as const, endedAtMs: undefined };
    });
    delete rec.endedAtMs;
    this.live.set(liveKey(gateway, input.transferId), rec);
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
        await trx(T).where(where).update({ bytes: rec.bytes, segments: rec.segments, state, ended_at_ms: at });
        const row: Row | undefined = await trx(T).where(where).first();
        if (row && !row.reported && row.receipt_body !== null && row.receipt_signature !== null) {
          const receiptBytes = Number(row.receipt_bytes);
          await this.queueServed(trx, fromRow(row), Math.min(receiptBytes, rec.bytes), receiptOf(row));
          queued = true;
        }
      });
    } finally {
      this.live.delete(liveKey(rec.gateway, rec.transferId));
    }
    if (queued) this.opts.onQueued?.();
  }

  /**
   * Stores a gateway's receipt (already verified and checked against the
   * caller by the handler) and, when the transfer has ended, queues the
   * served record in the same transaction.
   * @throws AlreadyExistsError when another receipt for this transfer is stored;
   *   InvalidArgumentError when the receipt's storage index differs from the transfer served.
   */
  async submitReceipt(receipt: ReceiptBody, signed: SignedDocument): Promise<ReceiptOutcome> {
    const where = { gateway_key: receipt.gateway, transfer_id: receipt.transferId };
    const body = Buffer.from(signed.body).toString('base64');
    const signature = Buffer.from(signed.signature).toString('base64');
    const attempt = (): Promise<ReceiptOutcome> => this.knex.transaction(async (trx): Promise<ReceiptOutcome> => {
      const row: Row | undefined = await trx(T).where(where).first();
      if (row && row.receipt_body !== null) {
        if (row.receipt_body === body && row.receipt_signature === signature) return 'duplicate';
        throw new AlreadyExistsError(
          `transfer '${receipt.transferId}' of gateway ${receipt.gateway.slice(0, 16)}… already has a different receipt (${Number(row.receipt_bytes)} bytes); a transfer has one receipt`,
        );
      }
      if (row && row.storage_index !== receipt.storageIndex) {
        throw new InvalidArgumentError(
          `receipt for transfer '${receipt.transferId}' names storage index ${receipt.storageIndex}, but this contact point served ${row.storage_index} in that transfer`,
        );
      }
      const stored = { receipt_body: body, receipt_signature: signature, receipt_bytes: receipt.bytes };
      if (!row || (!COUNTED.includes(row.state) && row.state !== 'open')) {
        // No count of our own (restarted mid-transfer, or never saw it): the row comes from the receipt.
        const made = {
          gateway_key: receipt.gateway,
          transfer_id: receipt.transferId,
          gateway_area: receipt.importer,
          storage_index: receipt.storageIndex,
          bytes: receipt.bytes,
          segments: row ? Number(row.segments) : 0,
          state: 'receipt-only' as const,
          started_at_ms: row ? Number(row.started_at_ms) : receipt.atMs,
          ended_at_ms: this.now(),
          ...stored,
        };
        if (row) await trx(T).where(where).update(made);
        else await trx(T).insert(made);
        if (row?.reported) return 'stored';
        await this.queueServed(trx, fromRow({ ...made, reported: false, reported_bytes: null }), receipt.bytes, signed);
        return 'reported';
      }
      await trx(T).where(where).update(stored);
      // Open: the end of FetchSegments reports it. Already reported (swept without receipt): kept, not re-reported.
      if (row.state === 'open' || row.reported || this.live.has(liveKey(receipt.gateway, receipt.transferId))) return 'stored';
      await this.queueServed(trx, fromRow(row), Math.min(receipt.bytes, Number(row.bytes)), signed);
      return 'reported';
    });
    // The same receipt on calls at once for a transfer without a row: on
    // PostgreSQL every transaction reads "absent" and all but one insert fail
    // on the key. Once more reads the row the winner made (-> 'duplicate').
    const outcome = await attempt().catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== '23505') throw err;
      return attempt();
    });
    if (outcome === 'reported') this.opts.onQueued?.();
    return outcome;
  }

  /**
   * Reports, without receipt, ended transfers with bytes > 0 whose receipt
   * did not come within `waitMs` of their end.
   * @returns how many were queued.
   */
  async sweepUnreceipted(waitMs: number): Promise<number> {
    const before = this.now() - waitMs;
    const rows: Row[] = await this.knex(T)
      .where({ reported: false })
      .whereIn('state', COUNTED as TransferState[])
      .whereNull('receipt_body')
      .andWhere('bytes', '>', 0)
      .andWhere('ended_at_ms', '<=', before)
      .limit(1000);
    let n = 0;
    for (const r of rows) {
      const done = await this.knex.transaction(async (trx) => {
        const where = { gateway_key: r.gateway_key, transfer_id: r.transfer_id };
        const fresh: Row | undefined = await trx(T).where(where).first();
        if (!fresh || fresh.reported || fresh.receipt_body !== null || !COUNTED.includes(fresh.state)) return false;
        await this.queueServed(trx, fromRow(fresh), Number(fresh.bytes), null);
        return true;
      });
      if (done) n++;
    }
    if (n > 0) this.opts.onQueued?.();
    return n;
  }

  /** The record of a transfer (live counts while open), by id and gateway key (hex) — or the first with that id. */
  async transfer(transferId: string, gateway?: string): Promise<TransferRecord | undefined> {
    if (gateway !== undefined) {
      const l = this.live.get(liveKey(gateway, transferId));
      if (l) return { ...l };
      const r: Row | undefined = await this.knex(T).where({ gateway_key: gateway, transfer_id: transferId }).first();
      return r ? fromRow(r) : undefined;
    }
    for (const l of this.live.values()) if (l.transferId === transferId) return { ...l };
    const r: Row | undefined = await this.knex(T).where({ transfer_id: transferId }).first();
    return r ? fromRow(r) : undefined;
  }

  /** Every stored transfer, oldest first (live counts for open ones). */
  async listTransfers(): Promise<TransferRecord[]> {
    const rows: Row[] = await this.knex(T).orderBy('started_at_ms');
    return rows.map((r) => {
      const l = this.live.get(liveKey(r.gateway_key, r.transfer_id));
      return l ? { ...l } : fromRow(r);
    });
  }

  /** Totals per gateway (including the live counts of open transfers), by gateway key. */
  async byGateway(): Promise<GatewayTotal[]> {
    const rows = (await this.knex(T)
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
      const stored = new Map((await this.knex(T).where({ state: 'open' })).map((r: Row) => [liveKey(r.gateway_key, r.transfer_id), r]));
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

  /** Signs the served record of `row` and adds it to the outbox; marks the row reported. */
  private async queueServed(trx: Knex.Transaction, row: TransferRecord, bytes: number, receipt: SignedDocument | null): Promise<void> {
    const recordId = servedRecordId(row.transferId);
    const signed = signServedRecord(
      {
        version: 1,
        recordId,
        transferId: row.transferId,
        storageIndex: row.storageIndex,
        bytes,
        exporter: this.opts.areaCode,
        importer: row.gatewayGrid,
        gateway: row.gateway,
        contactPoint: this.keyHex,
        atMs: this.now(),
        receipt: receipt ? embedReceipt(receipt) : null,
      },
      this.key,
    );
    await this.outbox.add(trx, [{ id: recordId, channel: CLEARINGHOUSE_CHANNEL, payload: usageRecordPayload('served', signed) }]);
    await trx(T).where({ gateway_key: row.gateway, transfer_id: row.transferId }).update({ reported: true, reported_bytes: bytes });
  }

  /** True when `key` is this contact point's key. */
  isOwnKey(key: Uint8Array): boolean {
    return bytesEqual(key, this.key.publicKey);
  }
}

function liveKey(gateway: string, transferId: string): string {
  return `${gateway}/${transferId}`;
}

function receiptOf(row: Row): SignedDocument {
  return { body: Buffer.from(row.receipt_body ?? '', 'base64'), signature: Buffer.from(row.receipt_signature ?? '', 'base64') };
}
