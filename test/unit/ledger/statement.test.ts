import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { buildStatements, postingsForTransfer, type Posting, type Period } from '../../../libs/ledger/index.js';
import { InternalError, InvalidArgumentError } from '../../../libs/errors/index.js';

const FROM = 1_764_000_000_000;
const PERIOD: Period = { id: '2026-11', fromMs: FROM, toMs: FROM + 86_400_000 };
const GIB = 2 ** 30;

function post(i: number, exporter: string, importer: string, bytes: number, price: number, atMs = FROM + i): Posting[] {
  return postingsForTransfer({ transferId: `t${i}`, exporter, importer, bytes, priceUnitsPerGib: price, atMs });
}

describe('buildStatements', () => {
  it('gives each grid a line per counterpart and a net balance', () => {
    const postings = [...post(1, '101', '202', GIB, 5), ...post(2, '202', '101', 2 * GIB, 3), ...post(3, '101', '303', GIB, 5)];
    const { statements, summary } = buildStatements(PERIOD, postings);
    expect(statements.map((s) => s.areaCode)).toEqual(['101', '202', '303']);
    expect(statements[0]).toEqual({
      version: 1,
      kind: 'grid',
      period: PERIOD,
      areaCode: '101',
      lines: [
        { counterpart: '202', bytesExported: GIB, bytesImported: 2 * GIB, unitsCredited: 5, unitsDebited: 6, netUnits: -1 },
        { counterpart: '303', bytesExported: GIB, bytesImported: 0, unitsCredited: 5, unitsDebited: 0, netUnits: 5 },
      ],
      netUnits: 4,
    });
    expect(summary).toEqual({
      version: 1,
      kind: 'summary',
      period: PERIOD,
      balances: [
        { areaCode: '101', netUnits: 4 },
        { areaCode: '202', netUnits: 1 },
        { areaCode: '303', netUnits: -5 },
      ],
      totalUnits: 0,
    });
  });

  it('counts the bytes of a free transfer by role', () => {
    const { statements } = buildStatements(PERIOD, post(1, '101', '202', 77, 0));
    expect(statements[0]!.lines[0]).toMatchObject({ bytesExported: 77, bytesImported: 0, netUnits: 0 });
    expect(statements[1]!.lines[0]).toMatchObject({ bytesExported: 0, bytesImported: 77, netUnits: 0 });
  });

  it('gives empty statements and an empty zero summary for no postings', () => {
    expect(buildStatements(PERIOD, [])).toEqual({ statements: [], summary: { version: 1, kind: 'summary', period: PERIOD, balances: [], totalUnits: 0 } });
  });

  it('throws InternalError when postings do not balance', () => {
    const [credit] = post(1, '101', '202', GIB, 5);
    expect(() => buildStatements(PERIOD, [credit!])).toThrow(InternalError);
    expect(() => buildStatements(PERIOD, [credit!])).toThrow(/sum to 5, not 0/);
  });

  it('refuses postings outside the period and a malformed period', () => {
    expect(() => buildStatements(PERIOD, post(1, '101', '202', 1, 1, PERIOD.toMs))).toThrow(/outside period '2026-11'/);
    expect(() => buildStatements(PERIOD, post(1, '101', '202', 1, 1, FROM - 1))).toThrow(InvalidArgumentError);
    expect(() => buildStatements({ id: 'p', fromMs: 10, toMs: 10 }, [])).toThrow(/ends \(10\) at or before/);
    expect(() => buildStatements({ id: '', fromMs: 0, toMs: 10 }, [])).toThrow(/period id/);
  });

  it('refuses a posting whose sign contradicts its role', () => {
    const [credit] = post(1, '101', '202', GIB, 5);
    expect(() => buildStatements(PERIOD, [{ ...credit!, amountUnits: -5 }])).toThrow(/role 'exporter' with amount -5/);
  });

  it('does not depend on the order of the postings', () => {
    const postings = [...post(1, '101', '202', 1000, 5), ...post(2, '303', '101', GIB + 1, 9), ...post(3, '202', '303', 5, 2)];
    expect(buildStatements(PERIOD, [...postings].reverse())).toEqual(buildStatements(PERIOD, postings));
  });

  it('sums to exactly zero and each net equals its postings, for random traffic among 3–5 grids', () => {
    const traffic = fc.integer({ min: 3, max: 5 }).chain((n) => {
      const grid = fc.integer({ min: 0, max: n - 1 });
      return fc.tuple(
        fc.constant(n),
        fc.array(fc.record({ from: grid, to: grid, bytes: fc.nat({ max: 2 ** 42 }), price: fc.nat({ max: 100_000 }), at: fc.nat({ max: 86_399_999 }) }), { maxLength: 80 }),
      );
    });
    fc.assert(
      fc.property(traffic, ([n, transfers]) => {
        const codes = Array.from({ length: n }, (_, i) => String(100 + i * 101));
        const postings = transfers.flatMap((t, i) => (t.from === t.to ? [] : post(i, codes[t.from]!, codes[t.to]!, t.bytes, t.price, FROM + t.at)));
        const { statements, summary } = buildStatements(PERIOD, postings);
        expect(summary.balances.reduce((a, b) => a + BigInt(b.netUnits), 0n)).toBe(0n);
        for (const s of statements) {
          const own = postings.filter((p) => p.account === s.areaCode).reduce((a, p) => a + BigInt(p.amountUnits), 0n);
          expect(BigInt(s.netUnits)).toBe(own);
          expect(s.lines.map((l) => l.counterpart)).toEqual([...s.lines.map((l) => l.counterpart)].sort());
        }
        expect(summary.balances.map((b) => b.areaCode)).toEqual(statements.map((s) => s.areaCode));
      }),
    );
  });
});
