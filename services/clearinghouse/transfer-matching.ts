/**
 * What a transfer's reports become (docs/billing.md "Matching"): a pure
 * function of the transfer row (both sides' figures) and the exporter's
 * price history. Both sides present →
 *
 *  1. the two records name the same parties (else 'transfer-mismatch');
 *  2. the receipt's price date is one the transfer could have used (else
 *     'price-date', see priceDateProblem);
 *  3. libs/ledger compareReports with
 *       served   = { bytes: served_bytes (the contact point's OWN count),
 *                    price: priceAt(exporter, asOf),
 *                    receiptOk: the served record embeds a receipt whose body is
 *                    byte-identical to the gateway's receipt record }
 *       received = { bytes: receipt_bytes, price: the receipt's priceUnitsPerGib, receiptOk: true }
 *     with asOf = the receipt's priceAsOfMs.
 *
 * Agree → post at receipt_bytes (= served_bytes) and the exporter's price;
 * otherwise a dispute with the reason. Nothing is ever posted at a figure
 * only one side gave.
 */
import { compareReports, type DisputeReason, type TransferReport } from '../../libs/ledger/index.js';
import type { PriceBook } from './price-book.js';
import type { TransferRow } from './ledger-rows.js';

export type Decision =
  | { post: true; bytes: number; priceUnitsPerGib: number; priceAsOfMs: number }
  | { post: false; reason: DisputeReason; detail: string; priceUnitsPerGib: number; priceAsOfMs: number };

/** What bounds a receipt's priceAsOfMs (LedgerStore options). */
export interface PriceDateBounds {
  /** How long a resolution is valid: issuedAtMs .. issuedAtMs + this (config resolutionTtlMs). */
  resolutionTtlMs: number;
  /** Clock differences tolerated between clearinghouse, contact point and gateway (config maxClockSkewMs). */
  slackMs: number;
}

/** The time whose price applies: the receipt's priceAsOfMs, else the embedded receipt's, else the transfer time. */
export function priceAsOf(t: TransferRow): number {
  return t.receipt_price_as_of_ms ?? t.served_price_as_of_ms ?? t.transfer_at_ms;
}

/** When the transfer began: the contact point's own record of it, else (rows from before served record v2) the receipt's time. */
export function transferStart(t: TransferRow): number {
  return t.served_started_at_ms ?? t.transfer_at_ms;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Why the receipt's priceAsOfMs cannot be the issuedAtMs of a resolution the
 * gateway used for this transfer, or undefined when it can. The gateway
 * resolves before it fetches, and a resolution is valid issuedAtMs ..
 * issuedAtMs + resolutionTtlMs, so (± slack for clocks):
 *
 *   start − ttl − slack ≤ priceAsOfMs ≤ min(start, receipt atMs, served atMs) + slack
 *
 * with start = when the contact point began serving (its own clock). A
 * priceAsOfMs before that is an old, possibly cheaper, price the gateway
 * picked; after it, a date the transfer could not have known.
 */
export function priceDateProblem(t: TransferRow, bounds: PriceDateBounds): string | undefined {
  const asOf = t.receipt_price_as_of_ms;
  if (asOf === null) return undefined;
  const start = transferStart(t);
  const earliest = start - bounds.resolutionTtlMs - bounds.slackMs;
  const ends = [start, t.transfer_at_ms, ...(t.served_at_ms === null ? [] : [t.served_at_ms])];
  const latest = Math.min(...ends) + bounds.slackMs;
  if (asOf < earliest) {
    return (
      `the receipt's price date ${iso(asOf)} (priceAsOfMs ${asOf}) is older than any resolution valid when the transfer began at ${iso(start)} ` +
      `(resolutions live ${bounds.resolutionTtlMs} ms, clock slack ${bounds.slackMs} ms: earliest ${earliest})`
    );
  }
  if (asOf > latest) {
    return `the receipt's price date ${iso(asOf)} (priceAsOfMs ${asOf}) is after the transfer (began ${iso(start)}, latest allowed ${latest})`;
  }
  return undefined;
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
export function decide(t: TransferRow, prices: PriceBook, partyMismatch: string | undefined, bounds: PriceDateBounds): Decision {
  const asOf = priceAsOf(t);
  const price = prices.at(t.exporter, asOf);
  const fallback = price ?? prices.atOrFirst(t.exporter, asOf);
  if (partyMismatch) return { post: false, reason: 'transfer-mismatch', detail: `transfer '${t.transfer_id}': ${partyMismatch}`, priceUnitsPerGib: fallback, priceAsOfMs: asOf };
  const dateProblem = priceDateProblem(t, bounds);
  if (dateProblem) {
    // The dispute carries the price at the transfer's own start, so resolving it
    // (accept-served / accept-receipt) never posts the price of the date the gateway picked.
    const start = transferStart(t);
    return { post: false, reason: 'price-date', detail: `transfer '${t.transfer_id}': ${dateProblem}`, priceUnitsPerGib: prices.atOrFirst(t.exporter, start), priceAsOfMs: start };
  }
  const served = report(t, 'served', fallback);
  const received = report(t, 'received', fallback);
  const c = compareReports(served, received);
  if (!c.agree) {
    let detail = c.detail;
    if (c.reason === 'missing-receipt' && t.served_receipt_sha256 !== null) {
      detail = `transfer '${t.transfer_id}': the receipt in the served record is not the receipt the gateway reported`;
    } else if (c.reason === 'bytes-mismatch' && served && received) {
      // Which side lies is not knowable here: both figures are signed claims.
      detail +=
        received.bytes < served.bytes
          ? ': the receipt covers less than the contact point counted (a short receipt, or an over-reporting contact point)'
          : ': the receipt covers more than the contact point counted (e.g. it restarted while serving)';
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
