/**
 * The clearinghouse ledger in knex (SQLite or PostgreSQL): usage records,
 * transfers, double-entry postings, disputes (docs/billing.md). Periods and
 * statements: period-store.ts, over the same store.
 *
 * Every write is one transaction and resolves only after it committed, so a
 * caller acknowledges nothing that a crash could lose. Ledger writes are also
 * serialised in-process (one clearinghouse process owns its database): that
 * keeps "posting time ≥ start of the open period" true without locking
 * tables on PostgreSQL.
 */
import type { Knex } from 'knex';
import { DEFAULT_MAX_SKEW_MS } from '../../libs/auth/index.js';
import { costOf, decide, disputeDetail, openDispute, postingsForTransfer, type PriceDateBounds } from '../../libs/ledger/index.js';
import { NotFoundError, PreconditionError, InvalidArgumentError } from '../../libs/errors/index.js';
import { LEDGER_TABLES as T } from './ledger-schema.js';
import {
  disputeRow,
  insertChunked,
  insertTransferPostings,
  postingRow,
  selectIn,
  type PostedTransfer,
  updateChunked,
  type ColumnType,
  toDisputeRow,
  toTransferReports,
  toTransferRow,
  type DisputeRow,
  type TransferRow,
} from './ledger-rows.js';
import { PriceBook } from './price-book.js';
import type { OpenedRecord } from './record-opener.js';

/** A verified, authorised record to store. */
export interface IngestRecord extends OpenedRecord {
  body: Uint8Array;
  signature: Uint8Array;
  /** hex key of the caller (= signer). */
  reporterKey: string;
}

/** Per-record outcome, aligned with the input. */
export type IngestOutcome = { outcome: 'ACCEPTED' | 'DUPLICATE' } | { outcome: 'REJECTED'; message: string };

export type DisputeResolution = 'accept-served' | 'accept-receipt' | 'void';
export const DISPUTE_RESOLUTIONS: readonly DisputeResolution[] = ['accept-served', 'accept-receipt', 'void'];

/** The open period's running totals (GetLedger). */
export interface LedgerSnapshot {
  openFromMs: number;
  pairs: { exporter: string; importer: string; bytes: number; units: number; transfers: number }[];
  pendingRecords: number;
  openDisputes: number;
  records: number;
}

interface Approval {
  notBefore: number;
  notAfter: number;
}

/** Fields both records of a transfer must agree on. */
const PARTY_FIELDS = [
  ['exporter', 'exporter'],
  ['importer', 'importer'],
  ['gateway_key', 'gateway'],
  ['contact_point_key', 'contactPoint'],
  ['storage_index', 'storageIndex'],
] as const;

/**
 * The columns a stored transfer's other side changes (addSide, then the
 * decision): only these are written back, with their types (updateChunked).
 */
const DECISION_COLUMNS = { state: 'text', price_units_per_gib: 'bigint', price_as_of_ms: 'bigint', posted_at_ms: 'bigint' } as const;
const SIDE_UPDATE: Record<'served' | 'receipt', Record<string, ColumnType>> = {
  served: {
    served_bytes: 'bigint',
    served_receipt_sha256: 'text',
    served_price_as_of_ms: 'bigint',
    served_started_at_ms: 'bigint',
    served_at_ms: 'bigint',
    ...DECISION_COLUMNS,
  },
  receipt: {
    receipt_bytes: 'bigint',
    receipt_sha256: 'text',
    receipt_price_units_per_gib: 'bigint',
    receipt_price_as_of_ms: 'bigint',
    transfer_at_ms: 'bigint',
    ...DECISION_COLUMNS,
  },
};

function newTransfer(r: IngestRecord, now: number): TransferRow {
  return {
    transfer_id: r.transferKey,
    exporter: r.exporter,
    importer: r.importer,
    gateway_key: r.gateway,
    contact_point_key: r.contactPoint,
    storage_index: r.storageIndex,
    transfer_at_ms: r.atMs,
    served_bytes: null,
    served_receipt_sha256: null,
    served_price_as_of_ms: null,
    served_started_at_ms: null,
    served_at_ms: null,
    receipt_bytes: null,
    receipt_sha256: null,
    receipt_price_units_per_gib: null,
    receipt_price_as_of_ms: null,
    price_units_per_gib: null,
    price_as_of_ms: null,
    state: 'pending',
    first_seen_ms: now,
    posted_at_ms: null,
  };
}

function addSide(t: TransferRow, r: IngestRecord): void {
  if (r.kind === 'served') {
    t.served_bytes = r.bytes;
    t.served_receipt_sha256 = r.receiptSha256 ?? null;
    t.served_price_as_of_ms = r.embedded?.priceAsOfMs ?? null;
    t.served_started_at_ms = r.startedAtMs ?? null;
    t.served_at_ms = r.atMs;
  } else {
    t.receipt_bytes = r.bytes;
    t.receipt_sha256 = r.receiptSha256 ?? null;
    t.receipt_price_units_per_gib = r.priceUnitsPerGib ?? 0;
    t.receipt_price_as_of_ms = r.priceAsOfMs ?? null;
    t.transfer_at_ms = r.atMs; // the receipt's time is the transfer's (the gateway verified the bytes then)
  }
}

/** Options of LedgerStore.open. */
export interface LedgerStoreOptions {
  /** How long a resolution is valid (config resolutionTtlMs; default 60 000). */
  resolutionTtlMs?: number;
  /** Clock differences tolerated between the parties (config maxClockSkewMs; default libs/auth DEFAULT_MAX_SKEW_MS). */
  maxClockSkewMs?: number;
}

export class LedgerStore {
  /** `${gatewayKey}/${areaCode}` → approval windows. */
  private readonly approvals = new Map<string, Approval[]>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Start of the open period (end of the last closed one, or 0). */
  private openFrom = 0;
  /** What bounds a receipt's price date (libs/ledger transfer-matching.ts). */
  readonly priceDates: PriceDateBounds;

  private constructor(
    readonly knex: Knex,
    opts: LedgerStoreOptions,
  ) {
    this.priceDates = { resolutionTtlMs: opts.resolutionTtlMs ?? 60_000, slackMs: opts.maxClockSkewMs ?? DEFAULT_MAX_SKEW_MS };
  }

  /** Opens the store over a migrated database; loads gateway approvals and the open period's start. */
  static async open(knex: Knex, opts: LedgerStoreOptions = {}): Promise<LedgerStore> {
    const s = new LedgerStore(knex, opts);
    const rows = (await knex(T.approvals).select('*')) as Record<string, unknown>[];
    for (const r of rows) s.remember(String(r.gateway_key), String(r.area_code), Number(r.not_before_ms), Number(r.not_after_ms));
    const last = (await knex(T.periods).max({ to: 'to_ms' }).first()) as { to: unknown } | undefined;
    s.openFrom = last?.to === null || last?.to === undefined ? 0 : Number(last.to);
    return s;
  }

  /** Start of the open period. */
  get openFromMs(): number {
    return this.openFrom;
  }

  /** Runs `fn` after every earlier ledger write finished (in-process serialisation). */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Called by period-store after a close committed. */
  periodClosed(toMs: number): void {
    this.openFrom = Math.max(this.openFrom, toMs);
  }

  /** Posting time for a posting made at `now`: never before the open period starts. */
  postingTime(now: number): number {
    return Math.max(now, this.openFrom);
  }

  private remember(key: string, area: string, notBefore: number, notAfter: number): boolean {
    const k = `${key}/${area}`;
    let list = this.approvals.get(k);
    if (!list) this.approvals.set(k, (list = []));
    if (list.some((a) => a.notBefore === notBefore && a.notAfter === notAfter)) return false;
    list.push({ notBefore, notAfter });
    return true;
  }

  /** Whether `gatewayKey` (hex) held an approval for `areaCode` covering `atMs` (± `slackMs`). Synchronous (in memory). */
  isApproved(gatewayKey: string, areaCode: string, atMs: number, slackMs = 0): boolean {
    const list = this.approvals.get(`${gatewayKey}/${areaCode}`);
    return !!list?.some((a) => a.notBefore - slackMs <= atMs && atMs <= a.notAfter + slackMs);
  }

  /** Records a gateway approval (issued by ApproveGateway, or presented by a reporting gateway). Idempotent. */
  async recordApproval(gatewayKey: string, areaCode: string, notBefore: number, notAfter: number, now: number): Promise<void> {
    if (this.isApproved(gatewayKey, areaCode, notBefore) && this.isApproved(gatewayKey, areaCode, notAfter)) return;
    await this.knex(T.approvals)
      .insert({ gateway_key: gatewayKey, area_code: areaCode, not_before_ms: notBefore, not_after_ms: notAfter, recorded_at_ms: now })
      .onConflict(['gateway_key', 'area_code', 'not_before_ms', 'not_after_ms'])
      .ignore();
    this.remember(gatewayKey, areaCode, notBefore, notAfter);
  }

  /**
   * Stores a batch of verified, authorised records in ONE transaction,
   * together with what they cause (transfers, postings, disputes), and
   * returns per record ACCEPTED / DUPLICATE / REJECTED after the commit.
   */
  ingest(records: IngestRecord[], now: number): Promise<IngestOutcome[]> {
    return this.exclusive(() => this.knex.transaction((trx) => this.ingestIn(trx, records, now)));
  }

  private async ingestIn(trx: Knex.Transaction, records: IngestRecord[], now: number): Promise<IngestOutcome[]> {
    const out: IngestOutcome[] = new Array<IngestOutcome>(records.length);
    if (records.length === 0) return out;
    // Every lookup and row is by transfer KEY (gateway + id): two gateways' equal ids are two transfers.
    const tids = [...new Set(records.map((r) => r.transferKey))];
    const stored = await selectIn(trx, T.records, 'transfer_id', tids, ['record_id', 'kind', 'transfer_id', 'signature']);
    const byId = new Map<string, Uint8Array>();
    const byTransferKind = new Map<string, string>();
    for (const r of stored) {
      byId.set(String(r.record_id), r.signature as Uint8Array);
      byTransferKind.set(`${String(r.transfer_id)}\u0000${String(r.kind)}`, String(r.record_id));
    }
    const transfers = new Map<string, TransferRow>();
    for (const r of await selectIn(trx, T.transfers, 'transfer_id', tids)) transfers.set(String(r.transfer_id), toTransferRow(r));
    const known = new Set(transfers.keys());
    const disputed = [...transfers.values()].filter((t) => t.state === 'disputed').map((t) => t.transfer_id);
    const openDisputes = new Map<string, DisputeRow>();
    for (const r of await selectIn(trx, T.disputes, 'transfer_id', disputed)) {
      const d = toDisputeRow(r);
      if (d.state === 'open') openDisputes.set(d.transfer_id, d);
    }
    const prices = await PriceBook.load(trx, records.map((r) => r.exporter));

    const newRecords: Record<string, unknown>[] = [];
    /** Transfers first seen in this batch (inserted), and stored ones that got their other side (updated). */
    const inserted = new Map<string, TransferRow>();
    const completed = { served: new Map<string, TransferRow>(), receipt: new Map<string, TransferRow>() };
    const postings: PostedTransfer[] = [];
    const newDisputes: Record<string, unknown>[] = [];
    const changedDisputes: DisputeRow[] = [];
    const postAt = this.postingTime(now);

    // The same rows as postingsForTransfer (whose checks the opened records already passed:
    // schema-valid ids and area codes, exporter ≠ importer), built in SQL from one tuple per transfer.
    const post = (t: TransferRow, bytes: number, price: number, asOf: number): number => {
      const amountUnits = costOf(bytes, price);
      postings.push({ transferId: t.transfer_id, exporter: t.exporter, importer: t.importer, bytes, priceUnitsPerGib: price, amountUnits });
      t.state = 'posted';
      t.posted_at_ms = postAt;
      t.price_units_per_gib = price;
      t.price_as_of_ms = asOf;
      return amountUnits;
    };

    records.forEach((r, i) => {
      const prior = byId.get(r.recordId);
      if (prior !== undefined) {
        out[i] = Buffer.compare(Buffer.from(prior), Buffer.from(r.signature)) === 0
          ? { outcome: 'DUPLICATE' }
          : { outcome: 'REJECTED', message: `record ${r.recordId}: a different record with this id is already stored (a record id is used once)` };
        return;
      }
      const otherId = byTransferKind.get(`${r.transferKey}\u0000${r.kind}`);
      if (otherId !== undefined) {
        out[i] = { outcome: 'REJECTED', message: `record ${r.recordId}: transfer '${r.transferKey}' already has a '${r.kind}' record (${otherId})` };
        return;
      }
      byId.set(r.recordId, r.signature);
      byTransferKind.set(`${r.transferKey}\u0000${r.kind}`, r.recordId);
      newRecords.push({
        record_id: r.recordId,
        kind: r.kind,
        transfer_id: r.transferKey,
        reporter_key: r.reporterKey,
        body: Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body),
        signature: Buffer.isBuffer(r.signature) ? r.signature : Buffer.from(r.signature),
        received_at_ms: now,
      });
      out[i] = { outcome: 'ACCEPTED' };

      let t = transfers.get(r.transferKey);
      let mismatch: string | undefined;
      if (!t) {
        t = newTransfer(r, now);
        transfers.set(r.transferKey, t);
      } else {
        for (const [col, field] of PARTY_FIELDS) {
          if (t[col] !== r[field]) {
            mismatch = `the ${r.kind} record names ${field} '${r[field]}', the other record '${t[col]}'`;
            break;
          }
        }
      }
      addSide(t, r);
      (known.has(t.transfer_id) ? completed[r.kind] : inserted).set(t.transfer_id, t);
      const both = t.served_bytes !== null && t.receipt_bytes !== null;
      if (!both) return;
      const open = openDisputes.get(t.transfer_id);
      const reports = toTransferReports(t);
      if (t.state === 'pending') {
        const d = decide(reports, prices.history(t.exporter), mismatch, this.priceDates);
        if (d.post) post(t, d.bytes, d.priceUnitsPerGib, d.priceAsOfMs);
        else {
          t.state = 'disputed';
          t.price_units_per_gib = d.priceUnitsPerGib;
          t.price_as_of_ms = d.priceAsOfMs;
          newDisputes.push(disputeRow(openDispute(reports, d), now));
        }
      } else if (t.state === 'disputed' && open && open.reason === 'missing-side') {
        // The missing side arrived after ClosePeriod opened the dispute: decide again.
        const d = decide(reports, prices.history(t.exporter), mismatch, this.priceDates);
        open.served_bytes = t.served_bytes;
        open.receipt_bytes = t.receipt_bytes;
        if (d.post) {
          open.state = 'resolved';
          open.resolution = 'matched';
          open.posted_units = post(t, d.bytes, d.priceUnitsPerGib, d.priceAsOfMs);
          open.resolved_at_ms = now;
          open.note = 'the other side was reported after the dispute opened; both agree';
        } else {
          const again = openDispute(reports, d);
          open.reason = again.reason;
          open.detail = again.detail;
          open.price_units_per_gib = again.priceUnitsPerGib;
        }
        changedDisputes.push(open);
      }
    });

    await insertChunked(trx, T.records, newRecords);
    await insertChunked(trx, T.transfers, [...inserted.values()] as unknown as Record<string, unknown>[]);
    for (const kind of ['served', 'receipt'] as const) {
      await updateChunked(trx, T.transfers, 'transfer_id', SIDE_UPDATE[kind], [...completed[kind].values()] as unknown as Record<string, unknown>[]);
    }
    await insertTransferPostings(trx, postings, postAt);
    await insertChunked(trx, T.disputes, newDisputes);
    for (const d of changedDisputes) {
      const { id, ...rest } = d;
      await trx(T.disputes).where({ id }).update(rest);
    }
    return out;
  }

  /** Disputes, oldest first; resolved ones only when asked. */
  async listDisputes(includeResolved: boolean): Promise<DisputeRow[]> {
    const q = this.knex(T.disputes).select('*').orderBy('id');
    if (!includeResolved) void q.where({ state: 'open' });
    return ((await q) as Record<string, unknown>[]).map(toDisputeRow);
  }

  /**
   * Resolves an open dispute: 'accept-served' / 'accept-receipt' post the
   * transfer at that side's bytes and the exporter's price into the open
   * period; 'void' posts nothing.
   * @throws NotFoundError for an unknown id; PreconditionError when already
   *   resolved or the accepted side was never reported.
   */
  resolveDispute(id: number, resolution: DisputeResolution, note: string, now: number): Promise<DisputeRow> {
    if (!DISPUTE_RESOLUTIONS.includes(resolution)) {
      throw new InvalidArgumentError(`resolution '${String(resolution).slice(0, 30)}' is not one of ${DISPUTE_RESOLUTIONS.join(', ')}`);
    }
    return this.exclusive(() =>
      this.knex.transaction(async (trx) => {
        const raw = (await trx(T.disputes).where({ id }).first()) as Record<string, unknown> | undefined;
        if (!raw) throw new NotFoundError(`dispute ${id} does not exist`);
        const d = toDisputeRow(raw);
        if (d.state !== 'open') throw new PreconditionError(`dispute ${id} is already resolved (${d.resolution ?? '?'} at ${new Date(d.resolved_at_ms ?? 0).toISOString()})`);
        const tRaw = (await trx(T.transfers).where({ transfer_id: d.transfer_id }).first()) as Record<string, unknown> | undefined;
        if (!tRaw) throw new NotFoundError(`dispute ${id}: transfer '${d.transfer_id}' is not stored`);
        const t = toTransferRow(tRaw);
        let units = 0;
        if (resolution === 'void') {
          t.state = 'void';
        } else {
          const bytes = resolution === 'accept-served' ? t.served_bytes : t.receipt_bytes;
          if (bytes === null) {
            throw new PreconditionError(`dispute ${id} (transfer '${d.transfer_id}') has no ${resolution === 'accept-served' ? 'served' : 'receipt'} report to accept`);
          }
          const postAt = this.postingTime(now);
          const pair = postingsForTransfer({
            transferId: t.transfer_id,
            exporter: t.exporter,
            importer: t.importer,
            bytes,
            priceUnitsPerGib: d.price_units_per_gib,
            atMs: postAt,
          });
          await trx(T.postings).insert(pair.map(postingRow));
          units = pair[0].amountUnits;
          t.state = 'posted';
          t.posted_at_ms = postAt;
          t.price_units_per_gib = d.price_units_per_gib;
        }
        await trx(T.transfers).where({ transfer_id: t.transfer_id }).update({ state: t.state, posted_at_ms: t.posted_at_ms, price_units_per_gib: t.price_units_per_gib });
        const update = { state: 'resolved', resolution, posted_units: units, resolved_at_ms: now, note: disputeDetail(note) };
        await trx(T.disputes).where({ id }).update(update);
        return { ...d, ...update, state: 'resolved' as const };
      }),
    );
  }

  /** The open period's totals per (exporter, importer), pending and disputed counts. */
  async snapshot(): Promise<LedgerSnapshot> {
    const rows = (await this.knex(T.postings)
      .select('account', 'counterpart')
      .sum({ bytes: 'bytes', units: 'amount_units' })
      .count({ transfers: '*' })
      .whereNull('period_id')
      .andWhere({ role: 'exporter' })
      .groupBy('account', 'counterpart')
      .orderBy(['account', 'counterpart'])) as Record<string, unknown>[];
    const count = async (table: string, where: Record<string, string>): Promise<number> => {
      const r = (await this.knex(table).where(where).count({ n: '*' }).first()) as { n: unknown } | undefined;
      return Number(r?.n ?? 0);
    };
    return {
      openFromMs: this.openFrom,
      pairs: rows.map((r) => ({
        exporter: String(r.account),
        importer: String(r.counterpart),
        bytes: Number(r.bytes),
        units: Number(r.units),
        transfers: Number(r.transfers),
      })),
      pendingRecords: await count(T.transfers, { state: 'pending' }),
      openDisputes: await count(T.disputes, { state: 'open' }),
      records: await count(T.records, {}),
    };
  }
}
