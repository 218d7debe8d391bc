import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { postingsForTransfer, type Transfer } from '../../../libs/ledger/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

const AT = 1_764_000_000_000;

function transfer(over: Partial<Transfer> = {}): Transfer {
  return { transferId: 't1', exporter: '101', importer: '202', bytes: 2 ** 30, priceUnitsPerGib: 5, atMs: AT, ...over };
}

describe('postingsForTransfer', () => {
  it('credits the exporter and debits the importer by the cost', () => {
    const [credit, debit] = postingsForTransfer(transfer());
    expect(credit).toEqual({ transferId: 't1', account: '101', counterpart: '202', role: 'exporter', bytes: 2 ** 30, priceUnitsPerGib: 5, amountUnits: 5, atMs: AT });
    expect(debit).toEqual({ transferId: 't1', account: '202', counterpart: '101', role: 'importer', bytes: 2 ** 30, priceUnitsPerGib: 5, amountUnits: -5, atMs: AT });
  });

  it('posts 0 (not -0) for a free transfer', () => {
    const [credit, debit] = postingsForTransfer(transfer({ bytes: 0 }));
    expect(Object.is(credit.amountUnits, 0)).toBe(true);
    expect(Object.is(debit.amountUnits, 0)).toBe(true);
  });

  it('refuses a transfer from a grid to itself', () => {
    expect(() => postingsForTransfer(transfer({ importer: '101' }))).toThrow(InvalidArgumentError);
    expect(() => postingsForTransfer(transfer({ importer: '101' }))).toThrow(/both 101/);
  });

  it('refuses malformed area codes, ids and integers, naming them', () => {
    expect(() => postingsForTransfer(transfer({ exporter: '1a1' }))).toThrow(/exporter '1a1'/);
    expect(() => postingsForTransfer(transfer({ importer: '12' }))).toThrow(/importer '12'/);
    expect(() => postingsForTransfer(transfer({ transferId: '' }))).toThrow(/transferId/);
    expect(() => postingsForTransfer(transfer({ transferId: 'x'.repeat(201) }))).toThrow(/transferId/);
    expect(() => postingsForTransfer(transfer({ bytes: -1 }))).toThrow(/bytes/);
    expect(() => postingsForTransfer(transfer({ atMs: 1.5 }))).toThrow(/atMs/);
  });

  it('balances to zero for any transfers', () => {
    const code = fc.stringMatching(/^[0-9]{3,8}$/);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ exporter: code, importer: code, bytes: fc.nat({ max: 2 ** 44 }), priceUnitsPerGib: fc.nat({ max: 1_000_000 }) }),
          { maxLength: 50 },
        ),
        (transfers) => {
          let total = 0n;
          transfers.forEach((t, i) => {
            if (t.exporter === t.importer) return;
            const ps = postingsForTransfer({ ...t, transferId: `t${i}`, atMs: AT });
            expect(ps[0].amountUnits + ps[1].amountUnits).toBe(0);
            for (const p of ps) total += BigInt(p.amountUnits);
          });
          expect(total).toBe(0n);
        },
      ),
    );
  });
});
