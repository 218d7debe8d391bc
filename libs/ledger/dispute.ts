/**
 * Disputes: the clearinghouse posts a transfer only when both sides' reports
 * agree — the exporting grid's contact point (bytes served, with the
 * gateway's signed receipt) and the importing grid's gateway (bytes
 * received). Anything else is recorded as a dispute and not posted until an
 * operator resolves it. This module is the pure comparison.
 */
import { InvalidArgumentError, assertInt, assertString } from '../errors/index.js';

/** One side's report of a transfer, after its signature has been checked. */
export interface TransferReport {
  transferId: string;
  bytes: number;
  priceUnitsPerGib: number;
  /**
   * Served side: the gateway's receipt is attached and verifies. Received
   * side: the gateway's own record verified. False → 'missing-receipt'.
   */
  receiptOk: boolean;
}

/**
 * Why two reports of a transfer do not agree. compareReports gives all but
 * 'price-date', which the clearinghouse adds: the receipt's price date lies
 * outside what the transfer could have used (docs/billing.md "Price").
 */
export type DisputeReason = 'missing-side' | 'transfer-mismatch' | 'missing-receipt' | 'bytes-mismatch' | 'price-mismatch' | 'price-date';

/** Result of comparing the two reports of one transfer. */
export type Comparison = { agree: true } | { agree: false; reason: DisputeReason; detail: string };

function check(side: string, r: TransferReport): void {
  assertString(`${side} transferId`, r.transferId);
  assertInt(`${side} bytes`, r.bytes);
  assertInt(`${side} priceUnitsPerGib`, r.priceUnitsPerGib);
  if (typeof r.receiptOk !== 'boolean') throw new InvalidArgumentError(`${side} receiptOk must be a boolean, got ${typeof r.receiptOk}`);
}

/**
 * Compares the exporter's (served) and importer's (received) reports of one
 * transfer. Checks in a fixed order, first failure wins: missing-side,
 * transfer-mismatch, missing-receipt, bytes-mismatch, price-mismatch.
 * @example compareReports(served, received) // { agree: false, reason: 'bytes-mismatch', detail: '…' }
 * @throws InvalidArgumentError when both reports are missing or one is malformed.
 */
export function compareReports(served: TransferReport | undefined, received: TransferReport | undefined): Comparison {
  if (served === undefined && received === undefined) {
    throw new InvalidArgumentError('compareReports needs at least one report, got neither');
  }
  if (served) check('served', served);
  if (received) check('received', received);
  if (!served || !received) {
    const have = (served ?? received)!;
    const missing = served ? 'received (importing gateway)' : 'served (exporting contact point)';
    return { agree: false, reason: 'missing-side', detail: `transfer '${have.transferId}': no ${missing} report` };
  }
  const id = served.transferId;
  if (received.transferId !== id) {
    return { agree: false, reason: 'transfer-mismatch', detail: `served report is for '${id}', received report for '${received.transferId}'` };
  }
  if (!served.receiptOk || !received.receiptOk) {
    const which = !served.receiptOk ? 'served report has no valid gateway receipt' : 'received report does not verify';
    return { agree: false, reason: 'missing-receipt', detail: `transfer '${id}': ${which}` };
  }
  if (served.bytes !== received.bytes) {
    return { agree: false, reason: 'bytes-mismatch', detail: `transfer '${id}': served ${served.bytes} bytes, received ${received.bytes}` };
  }
  if (served.priceUnitsPerGib !== received.priceUnitsPerGib) {
    return {
      agree: false,
      reason: 'price-mismatch',
      detail: `transfer '${id}': served at ${served.priceUnitsPerGib} units/GiB, received at ${received.priceUnitsPerGib}`,
    };
  }
  return { agree: true };
}

/** Longest dispute detail (and operator note) stored: the ch_disputes columns are 1000 characters. */
export const MAX_DETAIL = 1000;

/** A dispute as it is opened: a transfer that is not posted until an operator resolves it. */
export interface Dispute {
  transferId: string;
  exporter: string;
  importer: string;
  reason: DisputeReason;
  /** Why, at most MAX_DETAIL characters. */
  detail: string;
  /** Each side's bytes, null for a side not reported. */
  servedBytes: number | null;
  receiptBytes: number | null;
  /** The price a resolution posts at (accept-served / accept-receipt). */
  priceUnitsPerGib: number;
}

/**
 * The one dispute builder: the transfer's parties and both sides' bytes,
 * with the reason, detail (cut to MAX_DETAIL) and price of the refusal
 * (transfer-matching.ts decide / missingSide).
 * @example openDispute(reports, decide(reports, prices, undefined, bounds)) // when it did not post
 */
export function openDispute(
  t: { transferId: string; exporter: string; importer: string; served?: { bytes: number }; receipt?: { bytes: number } },
  refusal: { reason: DisputeReason; detail: string; priceUnitsPerGib: number },
): Dispute {
  return {
    transferId: t.transferId,
    exporter: t.exporter,
    importer: t.importer,
    reason: refusal.reason,
    detail: disputeDetail(refusal.detail),
    servedBytes: t.served?.bytes ?? null,
    receiptBytes: t.receipt?.bytes ?? null,
    priceUnitsPerGib: refusal.priceUnitsPerGib,
  };
}

/** A detail or note as stored: its first MAX_DETAIL characters. */
export function disputeDetail(text: string): string {
  return text.slice(0, MAX_DETAIL);
}
