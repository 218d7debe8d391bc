/**
 * transfer-matching's price-date rule (docs/billing.md "Price") over stored
 * transfer rows: the receipt's priceAsOfMs must be the issuedAtMs of a
 * resolution the gateway could have used for this transfer — bounded by
 * when the contact point began serving, the two records' own times and the
 * resolution lifetime. The rule is libs/ledger's (test/unit/ledger/
 * transfer-matching.test.ts); this pins that toTransferReports hands it the
 * row's columns.
 */
import { describe, expect, it } from 'vitest';
import { priceDateProblem as rule, transferStart as start, type PriceDateBounds } from '../../../libs/ledger/index.js';
import { toTransferReports, type TransferRow } from '../../../services/clearinghouse/ledger-rows.js';

const priceDateProblem = (t: TransferRow, b: PriceDateBounds): string | undefined => rule(toTransferReports(t), b);
const transferStart = (t: TransferRow): number => start(toTransferReports(t));

const START = 1_800_000_000_000;
const TTL = 60_000;
const SLACK = 5_000;
const bounds = { resolutionTtlMs: TTL, slackMs: SLACK };

function row(over: Partial<TransferRow>): TransferRow {
  return {
    transfer_id: 'gw:t1',
    exporter: '101',
    importer: '102',
    gateway_key: 'gw',
    contact_point_key: 'cp',
    storage_index: '00',
    transfer_at_ms: START + 1_000,
    served_bytes: 10,
    served_receipt_sha256: 'h',
    served_price_as_of_ms: null,
    served_started_at_ms: START,
    served_at_ms: START + 2_000,
    receipt_bytes: 10,
    receipt_sha256: 'h',
    receipt_price_units_per_gib: 5,
    receipt_price_as_of_ms: START - 1_000,
    price_units_per_gib: null,
    price_as_of_ms: null,
    state: 'pending',
    first_seen_ms: START,
    posted_at_ms: null,
    ...over,
  };
}

describe('priceDateProblem', () => {
  it('accepts every date a resolution valid at the start could carry, up to the clock slack', () => {
    for (const asOf of [START - TTL - SLACK, START - TTL, START - 1, START, START + SLACK]) {
      expect(priceDateProblem(row({ receipt_price_as_of_ms: asOf }), bounds), String(asOf - START)).toBeUndefined();
    }
  });

  it('refuses dates no resolution of this transfer could carry (bad-input table)', () => {
    const cases: [string, Partial<TransferRow>, RegExp][] = [
      ['older than a resolution lives', { receipt_price_as_of_ms: START - TTL - SLACK - 1 }, /is older than any resolution valid when the transfer began/],
      ['a year old', { receipt_price_as_of_ms: START - 365 * 86_400_000 }, /is older than any resolution/],
      ['after the start', { receipt_price_as_of_ms: START + SLACK + 1 }, /is after the transfer/],
      ["after the receipt's own time", { served_started_at_ms: START + 100_000, served_at_ms: START + 200_000, transfer_at_ms: START, receipt_price_as_of_ms: START + 50_000 }, /is after the transfer/],
      ["after the served record's time", { served_started_at_ms: START + 100_000, served_at_ms: START, transfer_at_ms: START + 200_000, receipt_price_as_of_ms: START + 50_000 }, /is after the transfer/],
    ];
    for (const [what, over, message] of cases) expect(priceDateProblem(row(over), bounds), what).toMatch(message);
  });

  it("uses the contact point's start, and the receipt's time only for rows from before it was recorded", () => {
    expect(transferStart(row({}))).toBe(START);
    expect(transferStart(row({ served_started_at_ms: null }))).toBe(START + 1_000);
    expect(priceDateProblem(row({ receipt_price_as_of_ms: null }), bounds)).toBeUndefined();
  });
});
