import { describe, it, expect } from 'vitest';
import { compareReports, disputeDetail, MAX_DETAIL, openDispute, type TransferReport, type DisputeReason } from '../../../libs/ledger/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

const ok: TransferReport = { transferId: 't1', bytes: 1000, priceUnitsPerGib: 5, receiptOk: true };

const table: [string, TransferReport | undefined, TransferReport | undefined, DisputeReason | 'agree', RegExp?][] = [
  ['identical reports', ok, ok, 'agree'],
  ['no received report', ok, undefined, 'missing-side', /no received/],
  ['no served report', undefined, ok, 'missing-side', /no served/],
  ['different transfer ids', ok, { ...ok, transferId: 't2' }, 'transfer-mismatch', /'t1'.*'t2'/],
  ['served without a valid receipt', { ...ok, receiptOk: false }, ok, 'missing-receipt', /gateway receipt/],
  ['received record does not verify', ok, { ...ok, receiptOk: false }, 'missing-receipt', /does not verify/],
  ['over-reported bytes', { ...ok, bytes: 2000 }, ok, 'bytes-mismatch', /served 2000 bytes, received 1000/],
  ['under-reported bytes', ok, { ...ok, bytes: 2000 }, 'bytes-mismatch'],
  ['different prices', ok, { ...ok, priceUnitsPerGib: 6 }, 'price-mismatch', /5 units\/GiB.*6/],
  ['missing receipt wins over a bytes mismatch', { ...ok, receiptOk: false, bytes: 9 }, ok, 'missing-receipt'],
  ['bytes mismatch wins over a price mismatch', ok, { ...ok, bytes: 1, priceUnitsPerGib: 1 }, 'bytes-mismatch'],
];

describe('compareReports', () => {
  for (const [name, served, received, expected, detail] of table) {
    it(`${name} → ${expected}`, () => {
      const r = compareReports(served, received);
      if (expected === 'agree') {
        expect(r).toEqual({ agree: true });
      } else {
        expect(r.agree).toBe(false);
        if (!r.agree) {
          expect(r.reason).toBe(expected);
          if (detail) expect(r.detail).toMatch(detail);
        }
      }
    });
  }

  it('refuses to compare two missing reports', () => {
    expect(() => compareReports(undefined, undefined)).toThrow(InvalidArgumentError);
  });

  it('refuses malformed reports, naming the side and field', () => {
    expect(() => compareReports({ ...ok, bytes: -1 }, ok)).toThrow(/served bytes/);
    expect(() => compareReports(ok, { ...ok, priceUnitsPerGib: 0.5 })).toThrow(/received priceUnitsPerGib/);
    expect(() => compareReports(ok, { ...ok, transferId: '' })).toThrow(/received transferId/);
  });
});

describe('openDispute', () => {
  const parties = { transferId: 'gw:t1', exporter: '101', importer: '102' };

  it('carries the parties, both sides\' bytes (null for a side not reported), the reason and the price', () => {
    const d = openDispute({ ...parties, served: { bytes: 10 }, receipt: { bytes: 9 } }, { reason: 'bytes-mismatch', detail: 'why', priceUnitsPerGib: 5 });
    expect(d).toEqual({ ...parties, reason: 'bytes-mismatch', detail: 'why', servedBytes: 10, receiptBytes: 9, priceUnitsPerGib: 5 });
    const lone = openDispute({ ...parties, receipt: { bytes: 0 } }, { reason: 'missing-side', detail: 'why', priceUnitsPerGib: 0 });
    expect([lone.servedBytes, lone.receiptBytes]).toEqual([null, 0]);
  });

  it(`cuts the detail to MAX_DETAIL (${MAX_DETAIL}) characters and keeps one that fits`, () => {
    expect(MAX_DETAIL).toBe(1000);
    const cut = (n: number): string => openDispute(parties, { reason: 'price-date', detail: 'x'.repeat(n), priceUnitsPerGib: 1 }).detail;
    expect(cut(MAX_DETAIL - 1)).toHaveLength(MAX_DETAIL - 1);
    expect(cut(MAX_DETAIL)).toHaveLength(MAX_DETAIL);
    expect(cut(MAX_DETAIL + 1)).toHaveLength(MAX_DETAIL);
    expect(cut(5 * MAX_DETAIL)).toBe('x'.repeat(MAX_DETAIL));
    expect(disputeDetail('abc')).toBe('abc');
    expect(disputeDetail('y'.repeat(MAX_DETAIL + 7))).toBe('y'.repeat(MAX_DETAIL));
  });
});
