/**
 * Opening one reported usage record: signature(s) verified with the keys the
 * documents name (libs/usage openUsageRecord) and reduced to the plain facts
 * the ledger needs. Pure and synchronous, so it runs in the request's thread
 * or in a verification worker (verify-pool.ts) alike; whether the signers
 * are allowed is decided afterwards (usage-check.ts).
 */
import { createHash } from 'node:crypto';
import type { SignedDocument } from '../../libs/auth/index.js';
import { openReceipt, openUsageRecord, transferKey, type ReceiptBody, type UsageRecordKind } from '../../libs/usage/index.js';

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
  /**
   * The transfer's name at the clearinghouse: libs/usage transferKey(gateway,
   * transferId). Transfer ids are each gateway's choice; only the pair is
   * unique, so storage and matching use this, never the bare id.
   */
  transferKey: string;
  /** hex key that signed the record: the contact point (served) or gateway (receipt). */
  signer: string;
  exporter: string;
  importer: string;
  gateway: string;
  contactPoint: string;
  storageIndex: string;
  bytes: number;
  atMs: number;
  /** Served: when the transfer began at the contact point (its own clock). */
  startedAtMs?: number;
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

/** A verified receipt and the sha256 (hex) of its body. */
interface VerifiedReceipt {
  receipt: ReceiptBody;
  sha256: string;
}

/**
 * Receipts already verified, by their exact bytes: each transfer's receipt
 * arrives twice (the gateway's 'receipt' record and embedded in the contact
 * point's 'served' record), byte-identical. The second copy is not verified
 * again — it is the same signed document (same body, same signature), so
 * verifying it again can only give the same answer. Keyed by sha256(body)
 * and the signature; that body hash is also the record's receiptSha256, so
 * a receipt is hashed once. Bounded (oldest evicted).
 */
export class ReceiptCache {
  private readonly verified = new Map<string, VerifiedReceipt>();

  constructor(private readonly max = 20_000) {}

  /** openReceipt with the body's sha256, answered from the cache for a byte-identical receipt verified before. */
  openHashed(signed: SignedDocument): VerifiedReceipt {
    const hash = sha256(signed.body);
    const sig = signed.signature;
    const key = hash + Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('base64');
    const hit = this.verified.get(key);
    if (hit) return hit;
    const entry = { receipt: openReceipt(signed), sha256: hash };
    this.verified.set(key, entry);
    if (this.verified.size > this.max) this.verified.delete(this.verified.keys().next().value!);
    return entry;
  }

  /** openReceipt, answered from the cache for a byte-identical receipt verified before. */
  readonly open = (signed: SignedDocument): ReceiptBody => this.openHashed(signed).receipt;

  get size(): number {
    return this.verified.size;
  }
}

/** Verifies and reduces one record; never throws. `cache` skips re-verifying a receipt seen before. */
export function openRecord(raw: RawRecord, cache?: ReceiptCache): OpenResult {
  try {
    if (raw.kind === 'receipt') {
      const { receipt: r, sha256: receiptSha256 } = cache ? cache.openHashed(raw) : { receipt: openReceipt(raw), sha256: sha256(raw.body) };
      return {
        ok: true,
        record: {
          kind: 'receipt',
          recordId: r.recordId,
          transferId: r.transferId,
          transferKey: transferKey(r.gateway, r.transferId),
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
          receiptSha256,
        },
      };
    }
    // The embedded receipt's body hash, taken as the cache opens it (no second hash).
    let embeddedSha: string | undefined;
    const opts = cache
      ? {
          openReceipt: (signed: SignedDocument) => {
            const e = cache.openHashed(signed);
            embeddedSha = e.sha256;
            return e.receipt;
          },
        }
      : {};
    const opened = openUsageRecord({ kind: raw.kind, body: raw.body, signature: raw.signature }, opts);
    if (opened.kind !== 'served') throw new Error('unreachable: a receipt record opened as served');
    const s = opened.served;
    const rec: OpenedRecord = {
      kind: 'served',
      recordId: s.recordId,
      transferId: s.transferId,
      transferKey: transferKey(s.gateway, s.transferId),
      signer: s.contactPoint,
      exporter: s.exporter,
      importer: s.importer,
      gateway: s.gateway,
      contactPoint: s.contactPoint,
      storageIndex: s.storageIndex,
      bytes: s.bytes,
      atMs: s.atMs,
      startedAtMs: s.startedAtMs,
    };
    if (opened.receipt && s.receipt) {
      const r = opened.receipt;
      rec.receiptSha256 = embeddedSha ?? sha256(Buffer.from(s.receipt.body, 'base64'));
      rec.embedded = { gateway: r.gateway, importer: r.importer, atMs: r.atMs, bytes: r.bytes, priceAsOfMs: r.priceAsOfMs };
    }
    return { ok: true, record: rec };
  } catch (err) {
    const id = claimedId(raw.body);
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, recordId: id, message: `record ${id || '(unreadable)'}: ${message}` };
  }
}
