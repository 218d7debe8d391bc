import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Length, fromBase32, toBase32 } from '../../../libs/caps/base32.js';
import { CapParseError } from '../../../libs/errors/index.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Independent reference: RFC 4648 §6 bit by bit, lowercase, no padding. */
function referenceBase32(bytes: Uint8Array): string {
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  while (bits.length % 5 !== 0) bits += '0';
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += ALPHABET[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe('base32', () => {
  it('matches the RFC 4648 §10 test vectors, lowercased and unpadded', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [plain, encoded] of vectors) expect(toBase32(new TextEncoder().encode(plain))).toBe(encoded);
  });

  it('agrees with a bit-by-bit reference encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(toBase32(b)).toBe(referenceBase32(b));
      }),
    );
  });

  it('decodes what it encodes for the cap field sizes', () => {
    for (const n of [16, 32]) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: n, maxLength: n }), (b) => {
          expect(fromBase32(toBase32(b), n, 'field')).toEqual(b);
        }),
      );
    }
  });

  it.each([16, 32])('accepts exactly one final character per value of the meaningful bits (%i bytes)', (n) => {
    // 16 bytes: 26 chars, 2 spare bits → 8 of 32 final characters are canonical;
    // 32 bytes: 52 chars, 4 spare bits → 2 of 32.
    const len = base32Length(n);
    const spare = len * 5 - n * 8;
    const stem = toBase32(new Uint8Array(n).fill(0x5a)).slice(0, -1);
    const accepted = [...ALPHABET].filter((c) => {
      try {
        fromBase32(stem + c, n, 'field');
        return true;
      } catch (e) {
        expect(e).toBeInstanceOf(CapParseError);
        return false;
      }
    });
    expect(accepted).toHaveLength(32 >> spare);
    for (const c of accepted) expect(ALPHABET.indexOf(c) % (1 << spare)).toBe(0);
  });

  it('refuses mixed case, which the RFC allows but caps do not', () => {
    const text = toBase32(new Uint8Array(16).fill(0xab));
    const i = text.search(/[a-z]/);
    const mixed = text.slice(0, i) + text[i]!.toUpperCase() + text.slice(i + 1);
    expect(() => fromBase32(mixed, 16, 'field')).toThrow(/uppercase base32 character/);
  });
});
