/**
 * The contact point's transfer table (cp_transfers): one row per transfer,
 * keyed by (gateway key, transfer id). Its row shape and how a row is read,
 * the states whose count is this process's own, how a receipt is stored in
 * a row, and the violation of its key. Written by served-store.ts (the
 * transfer's life), receipt-intake.ts, served-records.ts and
 * unreceipted-sweep.ts.
 */
import type { SignedDocument } from '../../libs/auth/index.js';
import { CONTACT_POINT_TRANSFERS_TABLE } from './migrations.js';

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

export type TransferRow = {
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

export function fromRow(r: TransferRow): TransferRecord {
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

export const TRANSFERS = CONTACT_POINT_TRANSFERS_TABLE;

/** States whose byte count is this process's own (a restarted transfer's count was lost). */
export const COUNTED: readonly TransferState[] = ['done', 'cancelled', 'failed'];

/** A receipt as its row stores it (base64 body and signature). */
export function receiptColumns(signed: SignedDocument): { receipt_body: string; receipt_signature: string } {
  return { receipt_body: Buffer.from(signed.body).toString('base64'), receipt_signature: Buffer.from(signed.signature).toString('base64') };
}

/** The receipt a row stores. */
export function receiptOf(row: TransferRow): SignedDocument {
  return { body: Buffer.from(row.receipt_body ?? '', 'base64'), signature: Buffer.from(row.receipt_signature ?? '', 'base64') };
}

/** A primary-key / unique violation (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT' || /UNIQUE constraint failed/.test(String((err as Error).message ?? ''));
}
