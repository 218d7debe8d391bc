/**
 * The request digest follows docs/auth.md byte for byte, every signed field
 * matters, and the metadata reader accepts exactly one well-formed form.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, generateKeyPair, keyPairFromSecret, toHex, verify } from '../../../libs/crypto/index.js';
import {
  attachRequestCredentials,
  issueCertificate,
  readRequestCredentials,
  requestDigest,
  signRequest,
  verifyRequestSignature,
  AuthRejectedError,
  AUTH_METADATA_KEYS as K,
  MAX_PRESENTED_CERTIFICATES,
  NO_MESSAGE_HASH,
  type Identity,
} from '../../../libs/auth/index.js';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/auth.json', import.meta.url), 'utf8'));
const subject = keyPairFromSecret(fromHex(vectors.subjectSeedHex));
const v = vectors.request;
const target = fromHex(v.targetPublicKeyHex);

describe('request digest', () => {
  it('pins the digest and signature of a fixed request (test/vectors/auth.json)', () => {
    const digest = requestDigest(v.path, v.timestamp, fromHex(v.nonceHex), fromHex(v.messageHashHex), subject.publicKey, target);
    expect(toHex(digest)).toBe(v.digestHex);
    const signed = signRequest(subject, target, v.path, fromHex(v.messageHashHex), v.timestamp, fromHex(v.nonceHex));
    expect(toHex(signed.signature)).toBe(v.signatureHex);
  });

  it('is SHA-256 of the documented bytes (independent computation with node:crypto)', () => {
    const tag = 'intergrid:request:v2';
    const path = Buffer.from(v.path, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(path.length);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(v.timestamp));
    const expected = createHash('sha256')
      .update(`${tag.length}:${tag},`)
      .update(len)
      .update(path)
      .update(ts)
      .update(fromHex(v.nonceHex))
      .update(fromHex(v.messageHashHex))
      .update(subject.publicKey)
      .update(target)
      .digest('hex');
    expect(v.digestHex).toBe(expected);
    expect(verify(fromHex(v.signatureHex), fromHex(expected), subject.publicKey)).toBe(true);
  });

  it('changes when any signed field changes', () => {
    const base = { path: '/a.B/C', ts: 5, nonce: new Uint8Array(16), hash: new Uint8Array(32), key: subject.publicKey, target };
    const d0 = toHex(requestDigest(base.path, base.ts, base.nonce, base.hash, base.key, base.target));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 15 }), (field, at) => {
        const nonce = Uint8Array.from(base.nonce);
        const hash = Uint8Array.from(base.hash);
        const key = Uint8Array.from(base.key);
        const server = Uint8Array.from(base.target);
        let path = base.path;
        let ts = base.ts;
        if (field === 0) path = `${path}x`;
        if (field === 1) ts += at + 1;
        if (field === 2) nonce[at]! ^= 1;
        if (field === 3) hash[at]! ^= 1;
        if (field === 4) key[at]! ^= 1;
        if (field === 5) server[at]! ^= 1;
        expect(toHex(requestDigest(path, ts, nonce, hash, key, server))).not.toBe(d0);
      }),
      { numRuns: 100 },
    );
  });

  it('NO_MESSAGE_HASH is 32 zero bytes', () => {
    expect(toHex(NO_MESSAGE_HASH)).toBe('00'.repeat(32));
  });
});

describe('request credentials in metadata', () => {
  const issuer = generateKeyPair();
  const id: Identity = {
    keyPair: subject,
    certificates: [
      issueCertificate(issuer, { role: 'client', subject: subject.publicKey, grid: '101', notBefore: 0, notAfter: 10 ** 13, limits: {} }),
    ],
  };
  const hash = new Uint8Array(32).fill(7);

  function signed(): grpc.Metadata {
    const md = new grpc.Metadata();
    attachRequestCredentials(md, id, target, '/a.B/C', hash, 1234);
    return md;
  }

  it('reads back what attachRequestCredentials wrote, and the signature verifies', () => {
    const creds = readRequestCredentials(signed());
    expect(creds.timestamp).toBe(1234);
    expect(creds.certificates.map(toHex)).toEqual([toHex(id.certificates[0]!.encoded)]);
    expect(toHex(creds.target)).toBe(toHex(target));
    expect(() => verifyRequestSignature(creds, target, '/a.B/C', hash)).not.toThrow();
  });

  it('rejects the signature for another method path', () => {
    expect(() => verifyRequestSignature(readRequestCredentials(signed()), target, '/a.B/D', hash)).toThrow(/bad request signature/);
  });

  it('refuses a request signed for another server, naming both (wrong-target)', () => {
    const other = generateKeyPair().publicKey;
    const err = (() => {
      try {
        verifyRequestSignature(readRequestCredentials(signed()), other, '/a.B/C', hash);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AuthRejectedError);
    expect((err as AuthRejectedError).reason).toBe('wrong-target');
    expect((err as Error).message).toMatch(/signed for server .* not this server/);
  });

  it('refuses a request whose named target was rewritten to this server (the signature still names the first)', () => {
    const md = signed();
    const other = generateKeyPair().publicKey;
    md.set(K.target, Buffer.from(other));
    expect(() => verifyRequestSignature(readRequestCredentials(md), other, '/a.B/C', hash)).toThrow(/bad request signature/);
  });

  it('replaces credentials already present instead of duplicating them', () => {
    const md = signed();
    attachRequestCredentials(md, id, target, '/a.B/C', hash, 1235);
    expect(readRequestCredentials(md).timestamp).toBe(1235);
    expect(md.get(K.certificate)).toHaveLength(1);
  });

  const malformed: [string, (md: grpc.Metadata) => void, string][] = [
    ['no public key', (md) => md.remove(K.publicKey), 'missing-credentials'],
    ['no signature', (md) => md.remove(K.signature), 'missing-credentials'],
    ['short nonce', (md) => md.set(K.nonce, Buffer.alloc(15)), 'malformed'],
    ['short public key', (md) => md.set(K.publicKey, Buffer.alloc(31)), 'malformed'],
    ['no target', (md) => md.remove(K.target), 'missing-credentials'],
    ['short target', (md) => md.set(K.target, Buffer.alloc(31)), 'malformed'],
    ['timestamp with a leading zero', (md) => md.set(K.timestamp, '01234'), 'malformed'],
    ['timestamp in exponent form', (md) => md.set(K.timestamp, '1e3'), 'malformed'],
    ['negative timestamp', (md) => md.set(K.timestamp, '-5'), 'malformed'],
    ['two timestamps', (md) => md.add(K.timestamp, '1234'), 'malformed'],
    [
      'too many certificates',
      (md) => {
        for (let i = 0; i < MAX_PRESENTED_CERTIFICATES; i++) md.add(K.certificate, Buffer.from(id.certificates[0]!.encoded));
      },
      'malformed',
    ],
  ];
  for (const [what, edit, reason] of malformed) {
    it(`rejects metadata with ${what} as '${reason}'`, () => {
      const md = signed();
      edit(md);
      let err: unknown;
      try {
        readRequestCredentials(md);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuthRejectedError);
      expect((err as AuthRejectedError).reason).toBe(reason);
    });
  }
});
