/**
 * Helpers for billing tests: real signed receipts and served records
 * (libs/usage) between grids, and real identities (contact point certified
 * by its grid manager, gateway approved by the clearinghouse).
 */
import { toHex, type KeyPair } from '../../../libs/crypto/index.js';
import type { SignedDocument } from '../../../libs/auth/index.js';
import { embedReceipt, RECEIPT_VERSION, receiptRecordId, SERVED_VERSION, servedRecordId, signReceipt, signServedRecord, transferKey, type ReceiptBody } from '../../../libs/usage/index.js';
import type { UsageRecordInput } from '../../../services/clearinghouse/index.js';

export interface TransferSpec {
  transferId: string;
  exporter: string;
  importer: string;
  gateway: KeyPair;
  contactPoint: KeyPair;
  bytes: number;
  priceUnitsPerGib: number;
  priceAsOfMs: number;
  atMs: number;
  /** Bytes the contact point claims (default: `bytes`). */
  servedBytes?: number;
  /** Key that signs the embedded receipt (default: `gateway`). */
  receiptSigner?: KeyPair;
  /** false = the served record carries no receipt. */
  withReceipt?: boolean;
  /** When the contact point says the transfer began (default: `atMs`). */
  startedAtMs?: number;
  /** When the contact point signed its record (default: `atMs`). */
  servedAtMs?: number;
}

export const STORAGE_INDEX = '0123456789abcdef0123456789abcdef';

export function receiptBody(t: TransferSpec, gateway: KeyPair = t.gateway): ReceiptBody {
  return {
    version: RECEIPT_VERSION,
    recordId: receiptRecordId(toHex(gateway.publicKey), t.transferId),
    transferId: t.transferId,
    storageIndex: STORAGE_INDEX,
    ranges: t.bytes > 0 ? [{ offset: 0, length: t.bytes }] : [],
    bytes: t.bytes,
    priceUnitsPerGib: t.priceUnitsPerGib,
    priceAsOfMs: t.priceAsOfMs,
    exporter: t.exporter,
    importer: t.importer,
    gateway: toHex(gateway.publicKey),
    contactPoint: toHex(t.contactPoint.publicKey),
    atMs: t.atMs,
  };
}

/** The gateway's receipt (its 'receipt' usage record). */
export function receiptRecord(t: TransferSpec): UsageRecordInput {
  const signer = t.receiptSigner ?? t.gateway;
  return { kind: 'receipt', ...signReceipt(receiptBody(t, signer), signer) };
}

/** The contact point's 'served' record, carrying the gateway's receipt. */
export function servedRecord(t: TransferSpec, signer: KeyPair = t.contactPoint): UsageRecordInput {
  const rSigner = t.receiptSigner ?? t.gateway;
  const receipt: SignedDocument | null = t.withReceipt === false ? null : signReceipt(receiptBody(t, rSigner), rSigner);
  const signed = signServedRecord(
    {
      version: SERVED_VERSION,
      recordId: servedRecordId(toHex(rSigner.publicKey), t.transferId),
      transferId: t.transferId,
      storageIndex: STORAGE_INDEX,
      bytes: t.servedBytes ?? t.bytes,
      exporter: t.exporter,
      importer: t.importer,
      gateway: toHex(rSigner.publicKey),
      contactPoint: toHex(signer.publicKey),
      startedAtMs: t.startedAtMs ?? t.atMs,
      atMs: t.servedAtMs ?? t.atMs,
      receipt: receipt ? embedReceipt(receipt) : null,
    },
    signer,
  );
  return { kind: 'served', ...signed };
}

/** Both records of a transfer. */
export function transferRecords(t: TransferSpec): { served: UsageRecordInput; receipt: UsageRecordInput } {
  return { served: servedRecord(t), receipt: receiptRecord(t) };
}

/** The clearinghouse's name of a transfer (dispute transferId, ch_transfers.transfer_id). */
export function keyOf(t: TransferSpec): string {
  return transferKey(toHex(t.gateway.publicKey), t.transferId);
}
