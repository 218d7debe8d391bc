/**
 * Opening one reported usage record: signature(s) verified with the keys the
 * documents name (libs/usage openUsageRecord) and reduced to the plain facts
 * the ledger needs. Pure and synchronous, so it runs in the request's thread
 * or in a verification worker (verify-pool.ts) alike; whether the signers
 * are allowed is decided afterwards (usage-check.ts).
 */
import { createHash } from 'node:crypto';
import { openUsageRecord, type UsageRecordKind } from '../../libs/usage/index.js';

/** A record as received (proto UsageRecord). */
export interface RawRecord {
  kind: string;
  body: Uint8Array;
  signature: Uint8Array;
}

/** The facts of a verified record (structured-clone safe). */
export interface OpenedRecord {
  kind: UsageRecordKind;
  recordId: string;
  transferId: string;
  /** hex key that signed the record: the contact point (served) or gateway (receipt). */
  signer: string;
  exporter: string;
  importer: string;
  gateway: string;
  contactPoint: string;
  storageIndex: string;
  bytes: number;
  atMs: number;
  /** Receipt: the price and its as-of time the gateway states. */
  priceUnitsPerGib?: number;
  priceAsOfMs?: number;
  /** sha256 (hex) of the receipt body: the record's own (receipt) or the embedded one (served; absent = no receipt). */
  receiptSha256?: string;
  /** Served with a receipt: the embedded receipt's facts. */
  embedded?: { gateway: string; importer: string; atMs: number; bytes: number; priceAsOfMs: number };
}

/** Result of opening: the facts, or why not (message starts with the record id when readable). */
export type OpenResult = { ok: true; record: OpenedRecord } | { ok: false; recordId: string; message: string };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Best-effort record id of an unreadable record (for the error message). */
function claimedId(body: Uint8Array): string {
  try {
    const v = JSON.parse(Buffer.from(body).toString('utf8')) as { recordId?: unknown };
    return typeof v.recordId === 'string' ? v.recordId.slice(0, 230) : '';
  } catch {
    return '';
  }
}

/** Verifies and reduces one record; never throws. */
export function openRecord(raw: RawRecord): OpenResult {
  try {
    const opened = openUsageRecord({ kind: raw.kind, body: raw.body, signature: raw.signature });
    if (opened.kind === 'receipt') {
      const r = opened.receipt;
      return {
        ok: true,
        record: {
          kind: 'receipt',
          recordId: r.recordId,
          transferId: r.transferId,
          signer: r.gateway,
          exporter: r.exporter,
          importer: r.importer,
          gateway: r.gateway,
          contactPoint: r.contactPoint,
          storageIndex: r.storageIndex,
          bytes: r.bytes,
          atMs: r.atMs,
          priceUnitsPerGib: r.priceUnitsPerGib,
          priceAsOfMs: r.priceAsOfMs,
          receiptSha256: sha256(raw.body),
        },
      };
    }
    const s = opened.served;
    const rec: OpenedRecord = {
      kind: 'served',
      recordId: s.recordId,
      transferId: s.transferId,
      signer: s.contactPoint,
      exporter: s.exporter,
      importer: s.importer,
      gateway: s.gateway,
      contactPoint: s.contactPoint,
      storageIndex: s.storageIndex,
      bytes: s.bytes,
      atMs: s.atMs,
    };
    if (opened.receipt && s.receipt) {
      const r = opened.receipt;
      rec.receiptSha256 = sha256(Buffer.from(s.receipt.body, 'base64'));
      rec.embedded = { gateway: r.gateway, importer: r.importer, atMs: r.atMs, bytes: r.bytes, priceAsOfMs: r.priceAsOfMs };
    }
    return { ok: true, record: rec };
  } catch (err) {
    const id = claimedId(raw.body);
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, recordId: id, message: `record ${id || '(unreadable)'}: ${message}` };
  }
}
