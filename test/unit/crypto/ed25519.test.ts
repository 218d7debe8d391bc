import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  generateKeyPair,
  keyPairFromSecret,
  sign,
  verify,
  fromHex,
  toHex,
  SIGNATURE_BYTES,
} from '../../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import * as noble from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

/** RFC 8032 section 7.1, Ed25519 test vectors. */
const RFC8032: Vector[] = [
  {
    name: 'TEST 1 (empty message)',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (1 octet)',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (2 octets)',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    // The message is SHA-512("abc").
    name: 'TEST SHA(abc)',
    secretKey: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: createHash('sha512').update('abc').digest('hex'),
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

describe('ed25519 (RFC 8032 section 7.1 vectors)', () => {
  it.each(RFC8032)('$name: derives the published public key', (v) => {
    expect(toHex(keyPairFromSecret(fromHex(v.secretKey)).publicKey)).toBe(v.publicKey);
  });

  it.each(RFC8032)('$name: reproduces the published signature byte for byte', (v) => {
    expect(toHex(sign(fromHex(v.message), fromHex(v.secretKey)))).toBe(v.signature);
  });

  it.each(RFC8032)('$name: verifies the published signature', (v) => {
    expect(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey))).toBe(true);
  });
});

describe('ed25519 tamper rejection', () => {
  const v = RFC8032[2]!;
  const sig = fromHex(v.signature);
  const msg = fromHex(v.message);
  const pk = fromHex(v.publicKey);

  it('rejects the signature after any single bit of it is flipped', () => {
    for (let bit = 0; bit < sig.length * 8; bit++) {
      const bad = Uint8Array.from(sig);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verify(bad, msg, pk), `bit ${bit}`).toBe(false);
    }
  });

  it('rejects the signature after any single bit of the message is flipped', () => {
    for (let bit = 0; bit < msg.length * 8; bit++) {
      const bad = Uint8Array.from(msg);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verify(sig, bad, pk), `bit ${bit}`).toBe(false);
    }
  });

  it('rejects the signature under another public key', () => {
    expect(verify(sig, msg, fromHex(RFC8032[1]!.publicKey))).toBe(false);
  });

  it('rejects a signature over an appended or truncated message', () => {
    expect(verify(sig, Uint8Array.of(...msg, 0), pk)).toBe(false);
    expect(verify(sig, msg.subarray(0, 1), pk)).toBe(false);
  });

  it('returns false (never throws) for malformed signatures and keys', () => {
    expect(verify(new Uint8Array(63), msg, pk)).toBe(false);
    expect(verify(new Uint8Array(65), msg, pk)).toBe(false);
    expect(verify(sig, msg, new Uint8Array(31))).toBe(false);
    expect(verify(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false);
    expect(verify('sig' as unknown as Uint8Array, msg, pk)).toBe(false);
    expect(verify(sig, msg, null as unknown as Uint8Array)).toBe(false);
  });

  it('rejects a signature whose S is not reduced (S + L)', () => {
    // Malleability: S and S + L are equal mod L; RFC 8032 section 5.1.7 requires S < L.
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    let t = s + L;
    const bad = Uint8Array.from(sig);
    for (let i = 0; i < 32; i++) {
      bad[32 + i] = Number(t & 0xffn);
      t >>= 8n;
    }
    expect(verify(bad, msg, pk)).toBe(false);
  });
});

describe('ed25519 sign/verify', () => {
  it('verifies what it signs, for random keys and messages (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, message) => {
        const kp = keyPairFromSecret(seed);
        const s = sign(message, kp.secretKey);
        expect(s).toHaveLength(SIGNATURE_BYTES);
        expect(verify(s, message, kp.publicKey)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('generates distinct key pairs that verify their own signatures', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(toHex(a.publicKey)).not.toBe(toHex(b.publicKey));
    const m = new TextEncoder().encode('intergrid');
    expect(verify(sign(m, a.secretKey), m, a.publicKey)).toBe(true);
    expect(verify(sign(m, a.secretKey), m, b.publicKey)).toBe(false);
  });

  it.each<[string, () => unknown]>([
    ['a 31-byte seed to keyPairFromSecret', () => keyPairFromSecret(new Uint8Array(31))],
    ['a 64-byte secret to sign', () => sign(new Uint8Array(1), new Uint8Array(64))],
    ['a string secret to sign', () => sign(new Uint8Array(1), 'secret' as unknown as Uint8Array)],
  ])('throws InvalidArgumentError for %s', (_name, f) => {
    expect(f).toThrow(InvalidArgumentError);
  });
});

// libs/crypto signs and verifies through libsodium; @noble/ed25519 is the oracle:
// the two implementations must agree on every signature, good or bad.
// noble's synchronous API (the oracle here) needs a SHA-512 implementation wired in.
noble.hashes.sha512 = sha512;

describe('ed25519 verify agrees with @noble/ed25519', () => {
  it('accepts exactly what noble accepts, for random keys, messages and single-bit flips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.boolean(), (seed, message, bit, flip) => {
        const kp = keyPairFromSecret(seed);
        expect(toHex(kp.publicKey)).toBe(toHex(noble.getPublicKey(seed)));
        const sig = sign(message, kp.secretKey);
        expect(toHex(sig)).toBe(toHex(noble.sign(message, kp.secretKey)));
        if (flip) sig[bit % sig.length]! ^= 1 << (bit % 8);
        expect(verify(sig, message, kp.publicKey)).toBe(noble.verify(sig, message, kp.publicKey));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a public key that is not a curve point instead of throwing', () => {
    const kp = generateKeyPair();
    const sig = sign(new Uint8Array([1, 2, 3]), kp.secretKey);
    const notAPoint = new Uint8Array(32).fill(0xff);
    expect(verify(sig, new Uint8Array([1, 2, 3]), notAPoint)).toBe(false);
  });
});
