/**
 * What a transfer's reports become (docs/billing.md "Matching"): a pure
 * function of the transfer row (both sides' figures) and the exporter's
 * price history. Both sides present → libs/ledger compareReports:
 *
 *   served   = { bytes: served_bytes, price: priceAt(exporter, asOf),
 *                receiptOk: the served record embeds a receipt whose body is
 *                byte-identical to the gateway's receipt record }
 *   received = { bytes: receipt_bytes, price: the receipt's priceUnitsPerGib, receiptOk: true }
 *
 * with asOf = the receipt's priceAsOfMs. Agree → post at receipt_bytes and
 * the exporter's price; otherwise a dispute with libs/ledger's reason.
 */
import { compareReports, type DisputeReason, type TransferReport } from '../../libs/ledger/index.js';
import type { PriceBook } from './price-book.js';
import type { TransferRow } from './ledger-rows.js';

export type Decision =
  | { post: true; bytes: number; priceUnitsPerGib: number; priceAsOfMs: number }
  | { post: false; reason: DisputeReason; detail: string; priceUnitsPerGib: number; priceAsOfMs: number };

/** The time whose price applies: the receipt's priceAsOfMs, else the embedded receipt's, else the transfer time. */
export function priceAsOf(t: TransferRow): number {
  return t.receipt_price_as_of_ms ?? t.served_price_as_of_ms ?? t.transfer_at_ms;
}

function report(t: TransferRow, side: 'served' | 'received', price: number): TransferReport | undefined {
  if (side === 'served') {
    if (t.served_bytes === null) return undefined;
    const receiptOk = t.served_receipt_sha256 !== null && t.served_receipt_sha256 === t.receipt_sha256;
    return { transferId: t.transfer_id, bytes: t.served_bytes, priceUnitsPerGib: price, receiptOk };
  }
  if (t.receipt_bytes === null) return undefined;
  return { transferId: t.transfer_id, bytes: t.receipt_bytes, priceUnitsPerGib: t.receipt_price_units_per_gib ?? 0, receiptOk: true };
}

/**
 * Decides a transfer. `partyMismatch` (the two records name different
 * grids, keys or storage index) is a 'transfer-mismatch' dispute.
 */
export function decide(t: TransferRow, prices: PriceBook, partyMismatch?: string): Decision {
  const asOf = priceAsOf(t);
  const price = prices.at(t.exporter, asOf);
  const fallback = price ?? prices.atOrFirst(t.exporter, asOf);
  if (partyMismatch) return { post: false, reason: 'transfer-mismatch', detail: `transfer '${t.transfer_id}': ${partyMismatch}`, priceUnitsPerGib: fallback, priceAsOfMs: asOf };
  const served = report(t, 'served', fallback);
  const received = report(t, 'received', fallback);
  const c = compareReports(served, received);
  if (!c.agree) {
    let detail = c.detail;
    if (c.reason === 'missing-receipt' && t.served_receipt_sha256 !== null) {
      detail = `transfer '${t.transfer_id}': the receipt in the served record is not the receipt the gateway reported`;
    }
    return { post: false, reason: c.reason, detail, priceUnitsPerGib: fallback, priceAsOfMs: asOf };
  }
  if (price === undefined) {
    return {
      post: false,
      reason: 'price-mismatch',
      detail: `transfer '${t.transfer_id}': exporter ${t.exporter} had no published price at ${new Date(asOf).toISOString()} (priceAsOfMs ${asOf})`,
      priceUnitsPerGib: fallback,
      priceAsOfMs: asOf,
    };
  }
  return { post: true, bytes: t.receipt_bytes!, priceUnitsPerGib: price, priceAsOfMs: asOf };
}
