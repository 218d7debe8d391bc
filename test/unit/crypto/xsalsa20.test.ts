import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { streamXOR } from '@stablelib/xsalsa20';
import { xsalsa20Xor, fromHex, toHex, XSALSA20_KEY_BYTES, XSALSA20_NONCE_BYTES } from '../../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

// NaCl's crypto_stream test key and nonce (tests/stream.c, stream3.c; also in libsodium's test suite).
const NACL_KEY = fromHex('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389');
const NACL_NONCE = fromHex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37');

describe('xsalsa20Xor: published vectors', () => {
  it('reproduces the first 32 keystream bytes of NaCl stream3', () => {
    const ks = xsalsa20Xor(NACL_KEY, NACL_NONCE, new Uint8Array(32));
    expect(toHex(ks)).toBe('eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880');
  });

  it('reproduces the SHA-512 of the 4,194,304-byte keystream of NaCl stream', () => {
    const ks = xsalsa20Xor(NACL_KEY, NACL_NONCE, new Uint8Array(4194304));
    expect(createHash('sha512').update(ks).digest('hex')).toBe(
      '2bd8e7db6877539e4f2b295ee415cd378ae214aa3beb3e08e911a5bd4a25e6ac' +
        '16ca283c79c34c08c99f7bdb560111e8cac1ae65eea08ac384d7a591461ab6e3',
    );
  });
});

describe('xsalsa20Xor: agreement with @stablelib/xsalsa20 (independent implementation)', () => {
  it('produces the same bytes for random keys, nonces and lengths (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: XSALSA20_KEY_BYTES, maxLength: XSALSA20_KEY_BYTES }),
        fc.uint8Array({ minLength: XSALSA20_NONCE_BYTES, maxLength: XSALSA20_NONCE_BYTES }),
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1000, maxLength: 5000 })),
        (key, nonce, input) => {
          const want = streamXOR(key, nonce, input, new Uint8Array(input.length));
          expect(toHex(xsalsa20Xor(key, nonce, input))).toBe(toHex(want));
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([0, 1, 63, 64, 65, 127, 128, 1000, 4096 + 17])('agrees at length %i', (length) => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3 + 1);
    const nonce = Uint8Array.from({ length: 24 }, (_, i) => 255 - i);
    const input = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
    const want = streamXOR(key, nonce, input, new Uint8Array(length));
    expect(toHex(xsalsa20Xor(key, nonce, input))).toBe(toHex(want));
  });
});

describe('xsalsa20Xor: behaviour', () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(24).fill(9);

  it('decrypts what it encrypts (the operation is its own inverse)', () => {
    const msg = new TextEncoder().encode('segment plaintext, not a multiple of 64 bytes long');
    expect(xsalsa20Xor(key, nonce, xsalsa20Xor(key, nonce, msg))).toEqual(msg);
  });

  it('writes into an output buffer that aliases the input', () => {
    const msg = Uint8Array.from({ length: 100 }, (_, i) => i);
    const expected = xsalsa20Xor(key, nonce, msg);
    const buf = Uint8Array.from(msg);
    expect(xsalsa20Xor(key, nonce, buf, buf)).toBe(buf);
    expect(buf).toEqual(expected);
  });

  it('gives different keystreams for nonces differing in the last byte', () => {
    const n2 = Uint8Array.from(nonce);
    n2[23]! ^= 1;
    const zeros = new Uint8Array(64);
    expect(toHex(xsalsa20Xor(key, nonce, zeros))).not.toBe(toHex(xsalsa20Xor(key, n2, zeros)));
  });

  it.each<[string, () => unknown]>([
    ['a 31-byte key', () => xsalsa20Xor(new Uint8Array(31), nonce, new Uint8Array(1))],
    ['a 16-byte nonce', () => xsalsa20Xor(key, new Uint8Array(16), new Uint8Array(1))],
    ['an output of the wrong length', () => xsalsa20Xor(key, nonce, new Uint8Array(10), new Uint8Array(9))],
  ])('throws InvalidArgumentError for %s', (_name, f) => {
    expect(f).toThrow(InvalidArgumentError);
  });
});
