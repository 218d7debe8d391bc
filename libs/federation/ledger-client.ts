/**
 * Typed client for the clearinghouse's billing RPCs (ReportUsage, disputes,
 * periods, statements; proto/clearinghouse.proto). Used by the operator CLI,
 * tests and the ingest bench. Statements are returned as signed bytes: open
 * them with libs/ledger openStatement against the clearinghouse key the
 * caller trusts.
 */
import { securedClient, type Identity, type SignedDocument } from '../auth/index.js';
import { call, clearinghouseProto } from '../rpc/index.js';
import { clearinghouseKeyOf } from './clearinghouse-client.js';
import type { ClearinghouseClient, Dispute__Output, PeriodInfo__Output, ReportUsageResponse__Output, ListDisputesResponse__Output, LedgerSnapshot__Output, ListPeriodsResponse__Output, PeriodStatements__Output } from '../rpc/proto-types.js';

/** A usage record to report (libs/usage signed document + its kind). */
export interface UsageRecordInput extends SignedDocument {
  kind: 'served' | 'receipt';
}

/** One record's outcome. */
export interface RecordOutcome {
  index: number;
  recordId: string;
  outcome: 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';
  message: string;
}

export interface DisputeInfo {
  id: number;
  transferId: string;
  exporter: string;
  importer: string;
  reason: string;
  detail: string;
  servedBytes: number | null;
  receiptBytes: number | null;
  priceUnitsPerGib: number;
  openedAtMs: number;
  state: string;
  resolution: string;
  postedUnits: number;
  resolvedAtMs: number;
  note: string;
}

export interface PeriodSummaryInfo {
  id: string;
  fromMs: number;
  toMs: number;
  closedAtMs: number;
  grids: number;
  transfers: number;
}

export interface LedgerSnapshotInfo {
  openFromMs: number;
  pairs: { exporter: string; importer: string; bytes: number; units: number; transfers: number }[];
  pendingRecords: number;
  openDisputes: number;
  records: number;
}

export interface SignedStatements {
  period: PeriodSummaryInfo;
  summary: SignedDocument;
  statements: SignedDocument[];
}

export interface LedgerConnection {
  /** Contact point or gateway: reports records; one outcome per record, in order. */
  reportUsage(records: UsageRecordInput[]): Promise<RecordOutcome[]>;
  listDisputes(includeResolved?: boolean): Promise<DisputeInfo[]>;
  resolveDispute(id: number, resolution: 'accept-served' | 'accept-receipt' | 'void', note?: string): Promise<DisputeInfo>;
  closePeriod(periodId?: string): Promise<PeriodSummaryInfo>;
  getLedger(): Promise<LedgerSnapshotInfo>;
  listPeriods(): Promise<PeriodSummaryInfo[]>;
  getStatements(periodId?: string): Promise<SignedStatements>;
  close(): void;
}

const n = (v: number | string | undefined): number => Number(v ?? 0);
const bytes = (b: Uint8Array | undefined): Uint8Array => new Uint8Array(b ?? []);

function dispute(d: Dispute__Output): DisputeInfo {
  return {
    id: n(d.id),
    transferId: d.transferId,
    exporter: d.exporter,
    importer: d.importer,
    reason: d.reason,
    detail: d.detail,
    servedBytes: d.hasServed ? n(d.servedBytes) : null,
    receiptBytes: d.hasReceipt ? n(d.receiptBytes) : null,
    priceUnitsPerGib: n(d.priceUnitsPerGib),
    openedAtMs: n(d.openedAtMs),
    state: d.state,
    resolution: d.resolution,
    postedUnits: n(d.postedUnits),
    resolvedAtMs: n(d.resolvedAtMs),
    note: d.note,
  };
}

function period(p: PeriodInfo__Output | null | undefined): PeriodSummaryInfo {
  return { id: p?.id ?? '', fromMs: n(p?.fromMs), toMs: n(p?.toMs), closedAtMs: n(p?.closedAtMs), grids: n(p?.grids), transfers: n(p?.transfers) };
}

/**
 * Opens a channel to the clearinghouse's billing RPCs at `address`, signing
 * calls as `identity` (the clearinghouse key as in `clearinghouseKeyOf`).
 */
export function connectLedger(
  address: string,
  identity: Identity | (() => Identity),
  opts: { deadlineMs?: number; clearinghousePublicKey?: Uint8Array } = {},
): LedgerConnection {
  const Ctor = clearinghouseProto().intergrid.clearinghouse.Clearinghouse;
  const client = securedClient<ClearinghouseClient>(Ctor, { address, publicKey: clearinghouseKeyOf(identity, opts.clearinghousePublicKey) }, identity);
  const o = { peer: `clearinghouse ${address}`, deadlineMs: opts.deadlineMs };
  return {
    async reportUsage(records) {
      const res = await call<object, ReportUsageResponse__Output>(
        client,
        client.reportUsage,
        { records: records.map((r) => ({ kind: r.kind, body: Buffer.from(r.body), signature: Buffer.from(r.signature) })) },
        o,
      );
      return (res.results ?? []).map((r) => ({ index: r.index, recordId: r.recordId, outcome: r.outcome, message: r.message }));
    },
    async listDisputes(includeResolved = false) {
      const res = await call<object, ListDisputesResponse__Output>(client, client.listDisputes, { includeResolved }, o);
      return (res.disputes ?? []).map(dispute);
    },
    async resolveDispute(id, resolution, note = '') {
      return dispute(await call<object, Dispute__Output>(client, client.resolveDispute, { id, resolution, note }, o));
    },
    async closePeriod(periodId = '') {
      return period(await call<object, PeriodInfo__Output>(client, client.closePeriod, { periodId }, o));
    },
    async getLedger() {
      const s = await call<object, LedgerSnapshot__Output>(client, client.getLedger, {}, o);
      return {
        openFromMs: n(s.openFromMs),
        pairs: (s.pairs ?? []).map((p) => ({ exporter: p.exporter, importer: p.importer, bytes: n(p.bytes), units: n(p.units), transfers: n(p.transfers) })),
        pendingRecords: n(s.pendingRecords),
        openDisputes: n(s.openDisputes),
        records: n(s.records),
      };
    },
    async listPeriods() {
      const res = await call<object, ListPeriodsResponse__Output>(client, client.listPeriods, {}, o);
      return (res.periods ?? []).map(period);
    },
    async getStatements(periodId = '') {
      const res = await call<object, PeriodStatements__Output>(client, client.getStatements, { periodId }, o);
      return {
        period: period(res.period),
        summary: { body: bytes(res.summary?.body), signature: bytes(res.summary?.signature) },
        statements: (res.statements ?? []).map((s) => ({ body: bytes(s.body), signature: bytes(s.signature) })),
      };
    },
    close() {
      client.close();
    },
  };
}
