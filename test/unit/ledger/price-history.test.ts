/**
 * The one price-in-effect rule (libs/ledger price-history.ts): a price takes
 * effect AT its effectiveFromMs and holds until the next; before the first
 * there is none. GridStore.priceAt and the ledger's matching both ask it.
 */
import { describe, expect, it } from 'vitest';
import { priceForDispute, priceInEffect, type PricePoint } from '../../../libs/ledger/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

const T0 = 1_764_000_000_000;
const history: PricePoint[] = [
  { effectiveFromMs: T0, priceUnitsPerGib: 3 },
  { effectiveFromMs: T0 + 1000, priceUnitsPerGib: 5 },
  { effectiveFromMs: T0 + 5000, priceUnitsPerGib: 8 },
];

describe('priceInEffect', () => {
  const table: [string, number, number | undefined][] = [
    ['before the first price', T0 - 1, undefined],
    ['at the first effective time', T0, 3],
    ['between two prices', T0 + 999, 3],
    ['at a later effective boundary', T0 + 1000, 5],
    ['just after a boundary', T0 + 1001, 5],
    ['at the last boundary', T0 + 5000, 8],
    ['long after the last price', T0 + 10 ** 9, 8],
  ];
  for (const [what, atMs, expected] of table) {
    it(`${what} → ${String(expected)}`, () => expect(priceInEffect(history, atMs)).toBe(expected));
  }

  it('has no price for a grid that published none', () => {
    expect(priceInEffect([], T0)).toBeUndefined();
  });

  it('takes the later-published of two prices with the same effective time', () => {
    const same = [...history, { effectiveFromMs: T0 + 5000, priceUnitsPerGib: 9 }];
    expect(priceInEffect(same, T0 + 5000)).toBe(9);
    expect(priceInEffect(same, T0 + 4999)).toBe(5);
  });

  it('refuses a history that is not oldest first', () => {
    expect(() => priceInEffect([history[1]!, history[0]!], T0 + 2000)).toThrow(InvalidArgumentError);
    expect(() => priceInEffect([history[1]!, history[0]!], T0 + 2000)).toThrow(/not oldest first: entry 1/);
  });
});

describe('priceForDispute', () => {
  it('is the price in effect, else the first published, else 0', () => {
    expect(priceForDispute(history, T0 + 1500)).toBe(5);
    expect(priceForDispute(history, T0 - 1)).toBe(3);
    expect(priceForDispute([], T0)).toBe(0);
  });
});
