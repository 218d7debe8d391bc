import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCap, formatStorageIndex, redactCap, storageIndexFromReadKey, toVerifyCap, type Cap } from '../../../libs/caps/index.js';
import { READ_EXAMPLE, readCapArb } from './helpers.js';

describe('redactCap', () => {
  it('never contains any 9-character run of the read key', () => {
    fc.assert(
      fc.property(readCapArb, (cap) => {
        const text = formatCap(cap);
        const key = text.split(':')[2]!;
        for (const out of [redactCap(text), redactCap(cap)]) {
          for (let i = 0; i + 9 <= key.length; i++) expect(out).not.toContain(key.slice(i, i + 9));
        }
      }),
    );
  });

  it('keeps kind, storage index, k, n, size and area code of a read-cap', () => {
    const si = formatStorageIndex(storageIndexFromReadKey(READ_EXAMPLE.readKey));
    expect(redactCap(formatCap(READ_EXAMPLE))).toBe(`read-cap(si=${si}, k=3, n=10, size=12345, area=212)`);
  });

  it('describes a verify-cap with the same storage index as its read-cap', () => {
    const si = formatStorageIndex(storageIndexFromReadKey(READ_EXAMPLE.readKey));
    expect(redactCap(formatCap(toVerifyCap(READ_EXAMPLE)))).toBe(`verify-cap(si=${si}, k=3, n=10, size=12345, area=212)`);
  });

  it('gives the same text for a cap object and its text', () => {
    fc.assert(
      fc.property(readCapArb, (cap) => {
        expect(redactCap(cap)).toBe(redactCap(formatCap(cap)));
      }),
    );
  });

  it('shows only the prefix of an invalid read-cap', () => {
    const text = formatCap(READ_EXAMPLE).replace(/:3:/, ':0:');
    expect(redactCap(text)).toBe(`invalid-cap('URI:CHK:…')`);
  });

  it('shows at most 8 characters of unrecognised text', () => {
    expect(redactCap('abcdefghijklmnopqrstuvwxyz')).toBe(`invalid-cap('abcdefgh…')`);
  });

  it('describes a malformed cap object without throwing', () => {
    expect(redactCap({ ...READ_EXAMPLE, readKey: new Uint8Array(3) } as Cap)).toBe('invalid-cap(object)');
  });
});
