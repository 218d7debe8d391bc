/**
 * What a transfer's reports become (docs/billing.md "Matching"): a pure
 * function of both sides' reports and the exporter's price history. Both
 * sides present →
 *
 *  1. the two records name the same parties (else 'transfer-mismatch'; the
 *     caller compares them and passes the difference);
 *  2. the receipt's price date is one the transfer could have used (else
 *     'price-date', see priceDateProblem);
 *  3. compareReports (dispute.ts) with
 *       served   = { bytes: the contact point's OWN count,
 *                    price: priceInEffect(exporter's history, asOf),
 *                    receiptOk: the served record embeds a receipt whose body is
 *                    byte-identical to the gateway's receipt record }
 *       received = { bytes: the receipt's bytes, price: the receipt's priceUnitsPerGib, receiptOk: true }
 *     with asOf = the receipt's priceAsOfMs (priceAsOf).
 *
 * Agree → post at the receipt's bytes (= the served bytes) and the
 * exporter's price; otherwise a dispute with the reason. Nothing is ever
 * posted at a figure only one side gave.
 */
import { compareReports, type DisputeReason, type TransferReport } from './dispute.js';
import { priceForDispute, priceInEffect, type PricePoint } from './price-history.js';

/** The exporting contact point's served record of a transfer. */
export interface ServedSide {
  /** The contact point's own count of bytes sent. */
  bytes: number;
  /** SHA-256 (hex) of the gateway receipt embedded in the served record, or null when none. */
  receiptSha256: string | null;
  /** The embedded receipt's priceAsOfMs, or null. */
  priceAsOfMs: number | null;
  /** When the contact point began serving (its clock); null for records from before it was recorded. */
  startedAtMs: number | null;
  /** The served record's atMs; null for records from before it was recorded. */
  atMs: number | null;
}

/** The importing gateway's receipt of a transfer. */
export interface ReceiptSide {
  bytes: number;
  /** SHA-256 (hex) of the receipt's body, or null. */
  receiptSha256: string | null;
  /** The price the receipt states. */
  priceUnitsPerGib: number;
  /** The issuedAtMs of the resolution whose price the gateway used, or null. */
  priceAsOfMs: number | null;
}

/** Both sides of one transfer as reported so far (one may still be missing). */
export interface TransferReports {
  /** The transfer key (libs/usage transferKey). */
  transferId: string;
  /** Area code of the exporting grid (whose price applies). */
  exporter: string;
  /** Area code of the importing grid. */
  importer: string;
  /** The transfer's time: the receipt's atMs once it is in, else the first record's. */
  atMs: number;
  served?: ServedSide;
  receipt?: ReceiptSide;
}

/** A refusal to post: the dispute's reason, detail, and the price and date it carries. */
export interface Refusal {
  post: false;
  reason: DisputeReason;
  detail: string;
  priceUnitsPerGib: number;
  priceAsOfMs: number;
}

/** What matching decided for a transfer with both sides in. */
export type Decision = { post: true; bytes: number; priceUnitsPerGib: number; priceAsOfMs: number } | Refusal;

/** What bounds a receipt's priceAsOfMs (LedgerStore options). */
export interface PriceDateBounds {
  /** How long a resolution is valid: issuedAtMs .. issuedAtMs + this (config resolutionTtlMs). */
  resolutionTtlMs: number;
  /** Clock differences tolerated between clearinghouse, contact point and gateway (config maxClockSkewMs). */
  slackMs: number;
}

/** The time whose price applies: the receipt's priceAsOfMs, else the embedded receipt's, else the transfer time. */
export function priceAsOf(t: TransferReports): number {
  return t.receipt?.priceAsOfMs ?? t.served?.priceAsOfMs ?? t.atMs;
}

/** When the transfer began: the contact point's own record of it, else (records from before served record v2) the transfer time. */
export function transferStart(t: TransferReports): number {
  return t.served?.startedAtMs ?? t.atMs;
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
export function priceDateProblem(t: TransferReports, bounds: PriceDateBounds): string | undefined {
  const asOf = t.receipt?.priceAsOfMs ?? null;
  if (asOf === null) return undefined;
  const start = transferStart(t);
  const earliest = start - bounds.resolutionTtlMs - bounds.slackMs;
  const servedAt = t.served?.atMs ?? null;
  const ends = [start, t.atMs, ...(servedAt === null ? [] : [servedAt])];
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

function servedReport(t: TransferReports, price: number): TransferReport | undefined {
  const s = t.served;
  if (!s) return undefined;
  const receiptOk = s.receiptSha256 !== null && s.receiptSha256 === (t.receipt?.receiptSha256 ?? null);
  return { transferId: t.transferId, bytes: s.bytes, priceUnitsPerGib: price, receiptOk };
}

function receivedReport(t: TransferReports): TransferReport | undefined {
  const r = t.receipt;
  if (!r) return undefined;
  return { transferId: t.transferId, bytes: r.bytes, priceUnitsPerGib: r.priceUnitsPerGib, receiptOk: true };
}

/**
 * Which way the byte counts differ. Which side lies is not knowable here:
 * both figures are signed claims.
 */
function bytesMismatchDirection(servedBytes: number, receivedBytes: number): string {
  return receivedBytes < servedBytes
    ? ': the receipt covers less than the contact point counted (a short receipt, or an over-reporting contact point)'
    : ': the receipt covers more than the contact point counted (e.g. it restarted while serving)';
}

/**
 * Decides a transfer with both sides in. `partyMismatch` (the two records
 * name different grids, keys or storage index) is a 'transfer-mismatch'
 * dispute. `prices` is the exporter's price history, oldest first.
 * @throws InvalidArgumentError when a report is malformed or `prices` is out of order.
 */
export function decide(t: TransferReports, prices: readonly PricePoint[], partyMismatch: string | undefined, bounds: PriceDateBounds): Decision {
  const asOf = priceAsOf(t);
  const price = priceInEffect(prices, asOf);
  const fallback = price ?? priceForDispute(prices, asOf);
  const refuse = (reason: DisputeReason, detail: string, priceUnitsPerGib = fallback, priceAsOfMs = asOf): Refusal => ({
    post: false,
    reason,
    detail,
    priceUnitsPerGib,
    priceAsOfMs,
  });
  if (partyMismatch) return refuse('transfer-mismatch', `transfer '${t.transferId}': ${partyMismatch}`);
  const dateProblem = priceDateProblem(t, bounds);
  if (dateProblem) {
    // The dispute carries the price at the transfer's own start, so resolving it
    // (accept-served / accept-receipt) never posts the price of the date the gateway picked.
    const start = transferStart(t);
    return refuse('price-date', `transfer '${t.transferId}': ${dateProblem}`, priceForDispute(prices, start), start);
  }
  const served = servedReport(t, fallback);
  const received = receivedReport(t);
  const c = compareReports(served, received);
  if (!c.agree) {
    let detail = c.detail;
    if (c.reason === 'missing-receipt' && (t.served?.receiptSha256 ?? null) !== null) {
      detail = `transfer '${t.transferId}': the receipt in the served record is not the receipt the gateway reported`;
    } else if (c.reason === 'bytes-mismatch' && served && received) {
      detail += bytesMismatchDirection(served.bytes, received.bytes);
    }
    return refuse(c.reason, detail);
  }
  if (price === undefined) {
    return refuse('price-mismatch', `transfer '${t.transferId}': exporter ${t.exporter} had no published price at ${iso(asOf)} (priceAsOfMs ${asOf})`);
  }
  return { post: true, bytes: t.receipt!.bytes, priceUnitsPerGib: price, priceAsOfMs: asOf };
}

/**
 * The refusal for a transfer whose other side never came (ClosePeriod,
 * after the unmatched grace): 'missing-side', naming the side that is
 * missing, at the price in effect at its price date (priceForDispute).
 */
export function missingSide(t: TransferReports, prices: readonly PricePoint[]): Refusal {
  const side = (bytes: number | undefined): TransferReport | undefined =>
    bytes === undefined ? undefined : { transferId: t.transferId, bytes, priceUnitsPerGib: 0, receiptOk: true };
  const c = compareReports(side(t.served?.bytes), side(t.receipt?.bytes));
  const asOf = priceAsOf(t);
  return {
    post: false,
    reason: 'missing-side',
    detail: c.agree ? `transfer '${t.transferId}': one side missing` : c.detail,
    priceUnitsPerGib: priceForDispute(prices, asOf),
    priceAsOfMs: asOf,
  };
}
