import { streamXOR } from '@stablelib/xsalsa20';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { decryptSegment, encryptSegment, segmentNonce } from '../../../libs/format/index.js';
import { patternBytes } from './helpers.js';

const KEY = patternBytes(32, 3);

describe('segment cipher', () => {
  it('uses nonce = 16 zero bytes ‖ u64be(segment index)', () => {
    expect(Buffer.from(segmentNonce(0)).toString('hex')).toBe('00'.repeat(24));
    expect(Buffer.from(segmentNonce(0x0102030405)).toString('hex')).toBe('00'.repeat(16) + '0000000102030405');
    expect(Buffer.from(segmentNonce(Number.MAX_SAFE_INTEGER)).toString('hex')).toBe('00'.repeat(16) + '001fffffffffffff');
  });

  it('agrees with an independent XSalsa20 (@stablelib) under the segment nonce', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), fc.uint8Array({ maxLength: 300 }), (key, i, data) => {
        expect(encryptSegment(key, i, data)).toEqual(streamXOR(key, segmentNonce(i), data, new Uint8Array(data.length)));
      }),
    );
  });

  it('decrypts what it encrypts', () => {
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 300 }), (i, data) => {
        expect(decryptSegment(KEY, i, encryptSegment(KEY, i, data))).toEqual(data);
      }),
    );
  });

  it('uses a different keystream for every segment index', () => {
    const zeros = new Uint8Array(64);
    expect(encryptSegment(KEY, 0, zeros)).not.toEqual(encryptSegment(KEY, 1, zeros));
  });

  it('rejects a key that is not 32 bytes and a negative index', () => {
    expect(() => encryptSegment(new Uint8Array(16), 0, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => encryptSegment(KEY, -1, new Uint8Array(1))).toThrow(InvalidArgumentError);
  });
});
