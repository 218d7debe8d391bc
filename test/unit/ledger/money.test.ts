import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { costOf, sumUnits, BYTES_PER_GIB } from '../../../libs/ledger/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

const GIB = 2 ** 30;

describe('costOf', () => {
  it('charges nothing for 0 bytes', () => {
    expect(costOf(0, 5)).toBe(0);
    expect(costOf(0, Number.MAX_SAFE_INTEGER)).toBe(0);
  });

  it('charges nothing at price 0', () => {
    expect(costOf(Number.MAX_SAFE_INTEGER, 0)).toBe(0);
  });

  it('rounds 1 byte up to 1 unit', () => {
    expect(costOf(1, 5)).toBe(1);
    expect(costOf(1, 1)).toBe(1);
  });

  it('charges exactly the price for exactly 1 GiB', () => {
    expect(BYTES_PER_GIB).toBe(GIB);
    expect(costOf(GIB, 5)).toBe(5);
    expect(costOf(GIB, 1)).toBe(1);
    expect(costOf(3 * GIB, 7)).toBe(21);
  });

  it('rounds up just past a unit boundary and not at it', () => {
    expect(costOf(GIB + 1, 1)).toBe(2);
    expect(costOf(GIB - 1, 1)).toBe(1);
    expect(costOf(GIB / 2, 2)).toBe(1);
    expect(costOf(GIB / 2 + 1, 2)).toBe(2);
  });

  it('is exact for huge values where a double product would round', () => {
    // (2^53 − 1) × (2^53 − 1) / 2^30 needs 106 bits; compare with BigInt directly.
    const max = Number.MAX_SAFE_INTEGER;
    expect(costOf(max, 1)).toBe(Number((BigInt(max) + BigInt(GIB) - 1n) / BigInt(GIB)));
    expect(costOf(max, 2 ** 30)).toBe(max);
    expect(costOf(2 ** 52 + 1, 2 ** 30)).toBe(2 ** 52 + 1);
    expect(costOf(2 ** 40, 123_456_789)).toBe(1024 * 123_456_789);
  });

  it('refuses a cost beyond the safe-integer range, naming the values', () => {
    expect(() => costOf(Number.MAX_SAFE_INTEGER, 2 ** 31)).toThrow(InvalidArgumentError);
    expect(() => costOf(Number.MAX_SAFE_INTEGER, 2 ** 31)).toThrow(/9007199254740991 bytes/);
  });

  it('refuses negative, fractional and non-number arguments, naming the argument', () => {
    expect(() => costOf(-1, 5)).toThrow(/bytes must be in/);
    expect(() => costOf(1.5, 5)).toThrow(/bytes must be an integer/);
    expect(() => costOf(10, 0.5)).toThrow(/priceUnitsPerGib must be an integer/);
    expect(() => costOf(10, Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => costOf('10' as unknown as number, 1)).toThrow(InvalidArgumentError);
    expect(() => costOf(2 ** 53, 1)).toThrow(InvalidArgumentError);
  });

  it('matches the rounding rule ceil(bytes × price / 2^30) computed in BigInt', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 20 }), (bytes, price) => {
        const c = costOf(bytes, price);
        const exact = BigInt(bytes) * BigInt(price);
        // smallest integer c with c × 2^30 >= bytes × price
        expect(BigInt(c) * BigInt(GIB) >= exact).toBe(true);
        expect(c === 0 || (BigInt(c) - 1n) * BigInt(GIB) < exact).toBe(true);
      }),
    );
  });

  it('is monotone in bytes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 45 }), fc.nat({ max: 2 ** 45 }), fc.nat({ max: 10_000 }), (a, b, price) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(costOf(lo, price)).toBeLessThanOrEqual(costOf(hi, price));
      }),
    );
  });
});

describe('sumUnits', () => {
  it('adds signed amounts exactly', () => {
    expect(sumUnits('t', [5, -5, 3])).toBe(3);
    expect(sumUnits('t', [])).toBe(0);
    expect(sumUnits('t', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])).toBe(0);
  });

  it('refuses a total outside the safe-integer range', () => {
    expect(() => sumUnits('grid 101 net', [Number.MAX_SAFE_INTEGER, 1])).toThrow(/grid 101 net total/);
  });
});
