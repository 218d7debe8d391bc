import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { taggedHash, TaggedHasher, sha256, toHex, HASH_BYTES } from '../../../libs/crypto/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('taggedHash', () => {
  it('is SHA-256 over netstring(tag) followed by the parts', () => {
    const want = createHash('sha256').update('9:intergrid,').update('abc').digest('hex');
    expect(toHex(taggedHash('intergrid', enc('abc')))).toBe(want);
  });

  it('counts the tag length in UTF-8 bytes, not characters', () => {
    // 'é' is 2 bytes in UTF-8: the netstring length prefix is 2.
    const want = createHash('sha256').update('2:é,').update('x').digest('hex');
    expect(toHex(taggedHash('é', enc('x')))).toBe(want);
  });

  it('returns 32 bytes', () => {
    expect(taggedHash('t')).toHaveLength(HASH_BYTES);
  });

  it('gives distinct hashes for distinct tags over the same data (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.uint8Array({ maxLength: 64 }), (t1, t2, data) => {
        fc.pre(t1 !== t2);
        expect(toHex(taggedHash(t1, data))).not.toBe(toHex(taggedHash(t2, data)));
      }),
      { numRuns: 300 },
    );
  });

  it('differs from the untagged SHA-256 of the same data', () => {
    expect(toHex(taggedHash('', enc('abc')))).not.toBe(toHex(sha256(enc('abc'))));
  });

  it('keeps tag and data apart: moving bytes between them changes the hash', () => {
    // Without the netstring frame these pairs would hash the same bytes.
    expect(toHex(taggedHash('ab', enc('c')))).not.toBe(toHex(taggedHash('a', enc('bc'))));
    expect(toHex(taggedHash('a', enc('')))).not.toBe(toHex(taggedHash('', enc('a'))));
    // A tag cannot be forged by starting the data with a fake frame for another tag.
    expect(toHex(taggedHash('x', enc('1:y,z')))).not.toBe(toHex(taggedHash('y', enc('z'))));
  });

  it('keeps tag and data apart for any split of the same bytes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }), fc.nat(), (s, cut) => {
        const i = cut % s.length;
        const j = (i + 1) % (s.length + 1);
        fc.pre(i !== j);
        // Same concatenation tag || data, different split points.
        expect(toHex(taggedHash(s.slice(0, i), enc(s.slice(i))))).not.toBe(toHex(taggedHash(s.slice(0, j), enc(s.slice(j)))));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes the concatenation of its parts (part boundaries are not framed)', () => {
    expect(toHex(taggedHash('t', enc('ab'), enc('c')))).toBe(toHex(taggedHash('t', enc('abc'))));
  });
});

describe('TaggedHasher', () => {
  it('streaming in any chunking equals the one-shot taggedHash (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (tag, data, cuts) => {
        const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % data.length)))].sort((a, b) => a - b);
        const h = new TaggedHasher(tag);
        let prev = 0;
        for (const p of [...points, data.length]) {
          h.update(data.subarray(prev, p));
          prev = p;
        }
        expect(toHex(h.digest())).toBe(toHex(taggedHash(tag, data)));
      }),
      { numRuns: 200 },
    );
  });

  it('update returns the hasher, so calls chain', () => {
    const h = new TaggedHasher('t');
    expect(h.update(enc('a'))).toBe(h);
    expect(toHex(h.update(enc('b')).digest())).toBe(toHex(taggedHash('t', enc('ab'))));
  });
});

describe('sha256', () => {
  it('matches the FIPS 180-2 vector for "abc"', () => {
    expect(toHex(sha256(enc('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the concatenation of its parts', () => {
    expect(toHex(sha256(enc('a'), enc('bc')))).toBe(toHex(sha256(enc('abc'))));
  });
});
