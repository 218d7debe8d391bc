import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taggedHash } from '../../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { ConvergentKeyHasher, convergentReadKey } from '../../../libs/format/index.js';
import { patternBytes } from './helpers.js';

const SECRET = patternBytes(32, 8);
const PARAMS = { k: 3, n: 10, segmentSize: 1024 };

describe('convergent read key', () => {
  it('is taggedHash(intergrid:convergent-key:v1, u32be(len) ‖ secret ‖ u16be(k) ‖ u16be(n) ‖ u32be(segmentSize) ‖ plaintext)', () => {
    const p = patternBytes(100);
    const framing = Buffer.from('00000020', 'hex');
    const params = Buffer.from('0003000a00000400', 'hex');
    expect(convergentReadKey(SECRET, PARAMS, p)).toEqual(taggedHash('intergrid:convergent-key:v1', framing, SECRET, params, p));
  });

  it('gives the same key however the plaintext is split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.nat(500), (p, cut) => {
        const c = Math.min(cut, p.length);
        const streamed = new ConvergentKeyHasher(SECRET, PARAMS).update(p.subarray(0, c)).update(p.subarray(c)).digest();
        expect(streamed).toEqual(convergentReadKey(SECRET, PARAMS, p));
      }),
    );
  });

  it('changes with the secret, the parameters and the plaintext', () => {
    const p = patternBytes(64);
    const base = convergentReadKey(SECRET, PARAMS, p);
    expect(convergentReadKey(patternBytes(32, 9), PARAMS, p)).not.toEqual(base);
    expect(convergentReadKey(SECRET, { ...PARAMS, n: 9 }, p)).not.toEqual(base);
    expect(convergentReadKey(SECRET, { ...PARAMS, segmentSize: 2048 }, p)).not.toEqual(base);
    expect(convergentReadKey(SECRET, PARAMS, patternBytes(64, 2))).not.toEqual(base);
  });

  it('is 32 bytes', () => {
    expect(convergentReadKey(SECRET, PARAMS, new Uint8Array(0))).toHaveLength(32);
  });

  it('rejects an empty secret and invalid parameters', () => {
    expect(() => convergentReadKey(new Uint8Array(0), PARAMS, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => convergentReadKey(SECRET, { ...PARAMS, k: 11 }, new Uint8Array(1))).toThrow(InvalidArgumentError);
  });
});
