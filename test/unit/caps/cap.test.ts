import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capStorageIndex,
  formatCap,
  formatReadCap,
  formatVerifyCap,
  isLongDistance,
  parseCap,
  parseReadCap,
  parseVerifyCap,
  storageIndexFromReadKey,
  toVerifyCap,
  withAreaCode,
  type Cap,
  type ReadCap,
} from '../../../libs/caps/index.js';
import { CapParseError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { capArb, READ_EXAMPLE, readCapArb, verifyCapArb } from './helpers.js';

describe('formatCap / parseCap', () => {
  it('round-trips every valid cap object through its text', () => {
    fc.assert(
      fc.property(capArb, (cap) => {
        expect(parseCap(formatCap(cap))).toEqual(cap);
      }),
    );
  });

  it('reproduces every valid text exactly: formatCap(parseCap(s)) === s', () => {
    fc.assert(
      fc.property(capArb, (cap) => {
        const s = formatCap(cap);
        expect(formatCap(parseCap(s))).toBe(s);
      }),
    );
  });

  it('chooses the kind by prefix', () => {
    const read = formatCap(READ_EXAMPLE);
    expect(read.startsWith('URI:CHK:')).toBe(true);
    expect(parseCap(read).kind).toBe('read');
    const verify = formatCap(toVerifyCap(READ_EXAMPLE));
    expect(verify.startsWith('URI:CHK-Verifier:')).toBe(true);
    expect(parseCap(verify).kind).toBe('verify');
  });

  it('omits the area-code field when the cap has none', () => {
    const { areaCode: _, ...local } = READ_EXAMPLE;
    const text = formatCap(local as ReadCap);
    expect(text.split(':')).toHaveLength(7);
    expect(parseCap(text).areaCode).toBeUndefined();
    expect('areaCode' in parseCap(text)).toBe(false);
  });

  it('formatReadCap and formatVerifyCap agree with formatCap', () => {
    fc.assert(fc.property(readCapArb, (cap) => { expect(formatReadCap(cap)).toBe(formatCap(cap)); }));
    fc.assert(fc.property(verifyCapArb, (cap) => { expect(formatVerifyCap(cap)).toBe(formatCap(cap)); }));
  });

  it.each<[string, Record<string, unknown>]>([
    ['a 31-byte read key', { readKey: new Uint8Array(31) }],
    ['a 33-byte UEB hash', { uebHash: new Uint8Array(33) }],
    ['k = 0', { k: 0 }],
    ['n = 257', { n: 257 }],
    ['k > n', { k: 11, n: 10 }],
    ['a fractional size', { size: 1.5 }],
    ['a negative size', { size: -1 }],
    ['a size past 2^53-1', { size: 2 ** 53 }],
    ['a 2-digit area code', { areaCode: '12' }],
    ['a non-digit area code', { areaCode: '21a' }],
    ['an unknown kind', { kind: 'write' }],
  ])('formatCap refuses an object with %s (InvalidArgumentError)', (_, patch) => {
    const bad = { ...READ_EXAMPLE, ...patch } as Cap;
    expect(() => formatCap(bad)).toThrow(InvalidArgumentError);
  });
});

describe('parseReadCap / parseVerifyCap', () => {
  it('parseReadCap refuses a verify-cap', () => {
    const verify = formatCap(toVerifyCap(READ_EXAMPLE));
    expect(() => parseReadCap(verify)).toThrow(CapParseError);
    expect(() => parseReadCap(verify)).toThrow(/is a verify-cap, expected a read-cap/);
  });

  it('parseVerifyCap refuses a read-cap without echoing its key', () => {
    const read = formatCap(READ_EXAMPLE);
    const key = read.split(':')[2]!;
    let message = '';
    try {
      parseVerifyCap(read);
    } catch (e) {
      expect(e).toBeInstanceOf(CapParseError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/is a read-cap, expected a verify-cap/);
    expect(message).not.toContain(key.slice(0, 10));
  });
});

describe('toVerifyCap', () => {
  it('derives the storage index from the read key and keeps every other field', () => {
    fc.assert(
      fc.property(readCapArb, (read) => {
        const v = toVerifyCap(read);
        expect(v.kind).toBe('verify');
        expect(v.storageIndex).toEqual(storageIndexFromReadKey(read.readKey));
        expect(v.uebHash).toEqual(read.uebHash);
        expect([v.k, v.n, v.size, v.areaCode]).toEqual([read.k, read.n, read.size, read.areaCode]);
        expect('readKey' in v).toBe(false);
      }),
    );
  });

  it('is pure: same input, equal output, input untouched, no shared bytes', () => {
    fc.assert(
      fc.property(readCapArb, (read) => {
        const before = formatCap(read);
        const a = toVerifyCap(read);
        const b = toVerifyCap(read);
        expect(a).toEqual(b);
        expect(formatCap(read)).toBe(before);
        a.uebHash[0] = a.uebHash[0]! ^ 1;
        expect(formatCap(read)).toBe(before);
      }),
    );
  });

  it('returns an equal copy of a verify-cap', () => {
    fc.assert(fc.property(verifyCapArb, (v) => { expect(toVerifyCap(v)).toEqual(v); }));
  });

  it('attenuating the parsed read-cap text gives the parsed verify-cap text', () => {
    fc.assert(
      fc.property(readCapArb, (read) => {
        const verifyText = formatCap(toVerifyCap(parseReadCap(formatCap(read))));
        expect(parseVerifyCap(verifyText)).toEqual(toVerifyCap(read));
      }),
    );
  });

  it('capStorageIndex agrees for a read-cap and its verify-cap', () => {
    fc.assert(fc.property(readCapArb, (read) => { expect(capStorageIndex(read)).toEqual(capStorageIndex(toVerifyCap(read))); }));
  });
});

describe('area codes on caps', () => {
  const { areaCode: _, ...localFields } = READ_EXAMPLE;
  const local = localFields as ReadCap;

  it.each<[string, string | undefined, string, boolean]>([
    ['a cap without an area code is local', undefined, '212', false],
    ['a cap with the home area code is local', '212', '212', false],
    ['a cap with another area code is long-distance', '415', '212', true],
    ['area codes compare as strings, leading zeros count', '0212', '212', true],
  ])('isLongDistance: %s', (_, capArea, home, expected) => {
    expect(isLongDistance(withAreaCode(local, capArea), home)).toBe(expected);
    expect(isLongDistance(toVerifyCap(withAreaCode(local, capArea)), home)).toBe(expected);
  });

  it('isLongDistance refuses a malformed home area code', () => {
    expect(() => isLongDistance(READ_EXAMPLE, '12')).toThrow(InvalidArgumentError);
  });

  it('withAreaCode sets, replaces and removes the code without touching the input', () => {
    const before = formatCap(READ_EXAMPLE);
    expect(withAreaCode(READ_EXAMPLE, '415').areaCode).toBe('415');
    expect(formatCap(withAreaCode(READ_EXAMPLE, '415'))).toBe(before.replace(/:212$/, ':415'));
    expect(formatCap(withAreaCode(READ_EXAMPLE, undefined))).toBe(before.replace(/:212$/, ''));
    expect(formatCap(READ_EXAMPLE)).toBe(before);
  });

  it('withAreaCode refuses a malformed code', () => {
    expect(() => withAreaCode(READ_EXAMPLE, '1234567890')).toThrow(InvalidArgumentError);
  });
});
