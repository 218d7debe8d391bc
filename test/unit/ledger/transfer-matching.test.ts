/**
 * Transfer matching (libs/ledger transfer-matching.ts) over plain report
 * types: what both sides' reports and the exporter's price history become —
 * a posting at the receipt's bytes and the price in effect, or a dispute
 * with the reason, the detail and the price it carries. One table per rule:
 * party and price-date checks first, then compareReports' order, the
 * bytes-mismatch direction, and a price date before any published price.
 */
import { describe, expect, it } from 'vitest';
import {
  decide,
  missingSide,
  priceAsOf,
  priceDateProblem,
  transferStart,
  type DisputeReason,
  type PricePoint,
  type TransferReports,
} from '../../../libs/ledger/index.js';

const START = 1_800_000_000_000;
const TTL = 60_000;
const SLACK = 5_000;
const bounds = { resolutionTtlMs: TTL, slackMs: SLACK };
/** The exporter's prices: 4 until START − 10 s, then 7. */
const prices: PricePoint[] = [
  { effectiveFromMs: START - 3_600_000, priceUnitsPerGib: 4 },
  { effectiveFromMs: START - 10_000, priceUnitsPerGib: 7 },
];

type Over = { served?: Partial<NonNullable<TransferReports['served']>> | null; receipt?: Partial<NonNullable<TransferReports['receipt']>> | null; atMs?: number };

/** Both sides agreeing: 10 bytes, receipt at START + 1 s priced as of START − 1 s (price 7). */
function reports(over: Over = {}): TransferReports {
  const served = { bytes: 10, receiptSha256: 'h', priceAsOfMs: null, startedAtMs: START, atMs: START + 2_000 };
  const receipt = { bytes: 10, receiptSha256: 'h', priceUnitsPerGib: 7, priceAsOfMs: START - 1_000 };
  return {
    transferId: 'gw:t1',
    exporter: '101',
    importer: '102',
    atMs: over.atMs ?? START + 1_000,
    served: over.served === null ? undefined : { ...served, ...over.served },
    receipt: over.receipt === null ? undefined : { ...receipt, ...over.receipt },
  };
}

describe('decide', () => {
  it('posts at the receipt bytes and the price in effect at the price date when both sides agree', () => {
    expect(decide(reports(), prices, undefined, bounds)).toEqual({ post: true, bytes: 10, priceUnitsPerGib: 7, priceAsOfMs: START - 1_000 });
  });

  it('uses the price in effect at the price date, not at the transfer time', () => {
    const r = reports({ receipt: { priceAsOfMs: START - 20_000, priceUnitsPerGib: 4 } });
    expect(decide(r, prices, undefined, bounds)).toEqual({ post: true, bytes: 10, priceUnitsPerGib: 4, priceAsOfMs: START - 20_000 });
  });

  // [what, reports, partyMismatch, reason, detail, price carried, price date carried]
  const table: [string, TransferReports, string | undefined, DisputeReason, RegExp, number, number][] = [
    ['records naming different parties', reports(), "the served record names importer '103', the other record '102'", 'transfer-mismatch', /^transfer 'gw:t1': the served record names importer '103'/, 7, START - 1_000],
    ['a party mismatch wins over a bad price date', reports({ receipt: { priceAsOfMs: START - 365 * 86_400_000 } }), 'x', 'transfer-mismatch', /: x$/, 4, START - 365 * 86_400_000],
    ['a price date older than any resolution of the transfer', reports({ receipt: { priceAsOfMs: START - TTL - SLACK - 1 } }), undefined, 'price-date', /is older than any resolution valid when the transfer began/, 7, START],
    ['a price date after the transfer', reports({ receipt: { priceAsOfMs: START + SLACK + 1 } }), undefined, 'price-date', /is after the transfer/, 7, START],
    ['a price date after the transfer, priced at the start even before admission', reports({ served: { startedAtMs: START - 7_200_000, atMs: START - 7_200_000 }, atMs: START - 7_200_000, receipt: { priceAsOfMs: START } }), undefined, 'price-date', /is after the transfer/, 4, START - 7_200_000],
    ['a served record without an embedded receipt', reports({ served: { receiptSha256: null } }), undefined, 'missing-receipt', /served report has no valid gateway receipt/, 7, START - 1_000],
    ['a served record embedding another receipt', reports({ served: { receiptSha256: 'other' } }), undefined, 'missing-receipt', /the receipt in the served record is not the receipt the gateway reported/, 7, START - 1_000],
    ['a short receipt', reports({ receipt: { bytes: 9 } }), undefined, 'bytes-mismatch', /served 10 bytes, received 9: the receipt covers less than the contact point counted \(a short receipt, or an over-reporting contact point\)$/, 7, START - 1_000],
    ['a receipt covering more than was served', reports({ receipt: { bytes: 11 } }), undefined, 'bytes-mismatch', /served 10 bytes, received 11: the receipt covers more than the contact point counted \(e\.g\. it restarted while serving\)$/, 7, START - 1_000],
    ['a missing receipt wins over a bytes mismatch', reports({ served: { receiptSha256: 'other' }, receipt: { bytes: 1 } }), undefined, 'missing-receipt', /not the receipt the gateway reported/, 7, START - 1_000],
    ["a receipt stating a price other than the exporter's", reports({ receipt: { priceUnitsPerGib: 6 } }), undefined, 'price-mismatch', /served at 7 units\/GiB, received at 6/, 7, START - 1_000],
    ['a bytes mismatch wins over a price mismatch', reports({ receipt: { bytes: 9, priceUnitsPerGib: 6 } }), undefined, 'bytes-mismatch', /received 9/, 7, START - 1_000],
  ];
  for (const [what, r, mismatch, reason, detail, price, asOf] of table) {
    it(`${what} → ${reason}`, () => {
      const d = decide(r, prices, mismatch, bounds);
      expect(d).toMatchObject({ post: false, reason, priceUnitsPerGib: price, priceAsOfMs: asOf });
      if (!d.post) expect(d.detail).toMatch(detail);
    });
  }

  it('refuses to post when the exporter had no price yet at the price date (price-mismatch at the first price)', () => {
    const later: PricePoint[] = [{ effectiveFromMs: START, priceUnitsPerGib: 9 }];
    const d = decide(reports({ receipt: { priceUnitsPerGib: 9 } }), later, undefined, bounds);
    expect(d).toMatchObject({ post: false, reason: 'price-mismatch', priceUnitsPerGib: 9, priceAsOfMs: START - 1_000 });
    if (!d.post) expect(d.detail).toMatch(/exporter 101 had no published price at .* \(priceAsOfMs 1799999999000\)/);
  });
});

describe('priceDateProblem', () => {
  it('accepts every date a resolution valid at the start could carry, up to the clock slack', () => {
    for (const asOf of [START - TTL - SLACK, START - TTL, START - 1, START, START + SLACK]) {
      expect(priceDateProblem(reports({ receipt: { priceAsOfMs: asOf } }), bounds), String(asOf - START)).toBeUndefined();
    }
  });

  it('is bounded by the earliest of the start, the receipt time and the served time', () => {
    const late = { startedAtMs: START + 100_000 };
    expect(priceDateProblem(reports({ served: { ...late, atMs: START + 200_000 }, atMs: START, receipt: { priceAsOfMs: START + 50_000 } }), bounds)).toMatch(/is after the transfer/);
    expect(priceDateProblem(reports({ served: { ...late, atMs: START }, atMs: START + 200_000, receipt: { priceAsOfMs: START + 50_000 } }), bounds)).toMatch(/is after the transfer/);
    // A served record from before atMs was recorded: only the start and the receipt time bound it.
    expect(priceDateProblem(reports({ served: { ...late, atMs: null }, atMs: START + 200_000, receipt: { priceAsOfMs: START + 50_000 } }), bounds)).toBeUndefined();
  });

  it('has nothing to check without a receipt price date', () => {
    expect(priceDateProblem(reports({ receipt: { priceAsOfMs: null } }), bounds)).toBeUndefined();
    expect(priceDateProblem(reports({ receipt: null }), bounds)).toBeUndefined();
  });
});

describe('priceAsOf and transferStart', () => {
  it("take the receipt's price date, else the embedded receipt's, else the transfer time", () => {
    expect(priceAsOf(reports())).toBe(START - 1_000);
    expect(priceAsOf(reports({ receipt: { priceAsOfMs: null }, served: { priceAsOfMs: START - 2_000 } }))).toBe(START - 2_000);
    expect(priceAsOf(reports({ receipt: null, served: { priceAsOfMs: null } }))).toBe(START + 1_000);
  });

  it("take the contact point's start, else the transfer time", () => {
    expect(transferStart(reports())).toBe(START);
    expect(transferStart(reports({ served: { startedAtMs: null } }))).toBe(START + 1_000);
    expect(transferStart(reports({ served: null }))).toBe(START + 1_000);
  });
});

describe('missingSide', () => {
  it('names the side that never came and carries the price at the price date', () => {
    expect(missingSide(reports({ served: null }), prices)).toEqual({
      post: false,
      reason: 'missing-side',
      detail: "transfer 'gw:t1': no served (exporting contact point) report",
      priceUnitsPerGib: 7,
      priceAsOfMs: START - 1_000,
    });
    const noReceipt = missingSide(reports({ receipt: null, served: { priceAsOfMs: START - 3_600_000 } }), prices);
    expect(noReceipt).toMatchObject({ reason: 'missing-side', detail: "transfer 'gw:t1': no received (importing gateway) report", priceUnitsPerGib: 4 });
  });

  it('carries the first published price for a price date before admission, and 0 without any', () => {
    expect(missingSide(reports({ served: null, receipt: { priceAsOfMs: 1 } }), prices).priceUnitsPerGib).toBe(4);
    expect(missingSide(reports({ served: null }), []).priceUnitsPerGib).toBe(0);
  });
});
