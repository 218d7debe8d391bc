/**
 * Signed documents: a signature opens only the exact body, under the exact
 * tag, by the exact issuer; JSON documents have one canonical byte form.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, generateKeyPair, keyPairFromSecret, sign, taggedHash, toHex } from '../../../libs/crypto/index.js';
import { IntegrityError, InvalidArgumentError, LayoutInvalidError } from '../../../libs/errors/index.js';
import {
  canonicalJson,
  openDocument,
  openJson,
  openJsonSignedBy,
  signDocument,
  signJson,
  verifyCertificate,
  AuthRejectedError,
  DIRECTORY_TAG,
  DOCUMENT_TAG_PREFIX,
} from '../../../libs/auth/index.js';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/auth.json', import.meta.url), 'utf8'));
const issuer = keyPairFromSecret(fromHex(vectors.issuerSeedHex));
const body = new TextEncoder().encode('hello grid');

describe('signDocument / openDocument', () => {
  it('pins a fixed document signature (test/vectors/auth.json)', () => {
    const d = vectors.document;
    const bytes = new TextEncoder().encode(d.bodyText);
    expect(toHex(signDocument(d.tag, bytes, issuer).signature)).toBe(d.signatureHex);
    // Independently: Ed25519 over taggedHash(prefix + tag, body).
    expect(toHex(sign(taggedHash(DOCUMENT_TAG_PREFIX + d.tag, bytes), issuer.secretKey))).toBe(d.signatureHex);
  });

  it('opens a document signed by the issuer under the same tag', () => {
    const doc = signDocument(DIRECTORY_TAG, body, issuer);
    expect(openDocument(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey)).toEqual(body);
  });

  it('rejects any flipped bit of the body or the signature with IntegrityError', () => {
    const doc = signDocument(DIRECTORY_TAG, body, issuer);
    const all = Uint8Array.from([...doc.body, ...doc.signature]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: all.length * 8 - 1 }), (bit) => {
        const bytes = Uint8Array.from(all);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        const b = bytes.subarray(0, doc.body.length);
        const s = bytes.subarray(doc.body.length);
        expect(() => openDocument(DIRECTORY_TAG, b, s, issuer.publicKey)).toThrow(IntegrityError);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a document opened under another tag', () => {
    const doc = signDocument('intergrid:statement:v1', body, issuer);
    expect(() => openDocument(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a document from another issuer', () => {
    const doc = signDocument(DIRECTORY_TAG, body, issuer);
    expect(() => openDocument(DIRECTORY_TAG, doc.body, doc.signature, generateKeyPair().publicKey)).toThrow(IntegrityError);
  });

  it('never lets a document signature pass as a certificate signature', () => {
    // Sign a well-formed certificate body as a *document*: the tags differ, so it must not verify as a certificate.
    const cert = vectors.certificate;
    const encoded = fromHex(cert.encodedHex);
    const certBody = encoded.subarray(0, encoded.length - 64);
    const doc = signDocument('intergrid:certificate:v1', certBody, issuer);
    const forged = Uint8Array.from([...certBody, ...doc.signature]);
    expect(() => verifyCertificate(forged, { trustedIssuers: [issuer.publicKey], now: cert.notBefore })).toThrow(AuthRejectedError);
  });

  it('rejects a tag with spaces or an empty tag', () => {
    expect(() => signDocument('has space', body, issuer)).toThrow(InvalidArgumentError);
    expect(() => signDocument('', body, issuer)).toThrow(InvalidArgumentError);
  });
});

describe('canonical JSON documents', () => {
  it('writes sorted keys without whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -1.5 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":-1.5,"z":0}}');
  });

  it('gives one byte form whatever the key order', () => {
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('is a fixed point: parsing and re-encoding canonical JSON gives the same text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  const unencodable: [string, unknown][] = [
    ['NaN', { a: NaN }],
    ['Infinity', [Infinity]],
    ['a Date', { when: new Date(0) }],
    ['bytes', { key: new Uint8Array(2) }],
    ['undefined in an array', [1, undefined]],
    ['a bigint', { n: 1n }],
  ];
  for (const [what, value] of unencodable) {
    it(`refuses ${what} with InvalidArgumentError`, () => {
      expect(() => canonicalJson(value)).toThrow(InvalidArgumentError);
    });
  }

  it('round-trips a signed JSON document through openJson, with an optional parser', () => {
    const doc = signJson(DIRECTORY_TAG, { grid: '101', servers: [{ key: 'ab', address: '127.0.0.1:1' }] }, issuer);
    const value = openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey, (v) => v as { grid: string });
    expect(value.grid).toBe('101');
  });

  it('rejects a correctly signed body that is not canonical JSON with LayoutInvalidError', () => {
    const doc = signDocument(DIRECTORY_TAG, new TextEncoder().encode('{"b":1, "a":2}'), issuer);
    expect(() => openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey)).toThrow(LayoutInvalidError);
  });

  it('checks key order on its own (no whitespace) and at depth, and accepts integer-like keys in canonical order', () => {
    for (const text of ['{"b":1,"a":2}', '{"a":{"d":1,"c":2}}', '{"a":[{"y":1,"x":2}]}', '{"99":1,"101":2}']) {
      const doc = signDocument(DIRECTORY_TAG, new TextEncoder().encode(text), issuer);
      expect(() => openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey), text).toThrow(LayoutInvalidError);
    }
    // JSON.parse lists "99" before "101"; canonical (UTF-16) order is "101" first: still accepted.
    const doc = signJson(DIRECTORY_TAG, { '99': 1, '101': { b: 2, a: 'é\u2028' } }, issuer);
    expect(new TextDecoder().decode(doc.body)).toBe('{"101":{"a":"é\u2028","b":2},"99":1}');
    expect(openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey)).toEqual({ '99': 1, '101': { b: 2, a: 'é\u2028' } });
  });

  it('rejects a correctly signed body that is not JSON with LayoutInvalidError', () => {
    const doc = signDocument(DIRECTORY_TAG, Uint8Array.of(0xff, 0xfe), issuer);
    expect(() => openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey)).toThrow(LayoutInvalidError);
  });
});

describe('openJsonSignedBy (a document naming its own issuer)', () => {
  const keyOf = (v: unknown) => fromHex(String((v as { issuer?: unknown }).issuer), 'issuer', 32);
  const value = { issuer: toHex(issuer.publicKey), n: 1 };

  it('opens like openJson with the key the body names', () => {
    const doc = signJson(DIRECTORY_TAG, value, issuer);
    expect(openJsonSignedBy(DIRECTORY_TAG, doc.body, doc.signature, keyOf)).toEqual(value);
    expect(openJsonSignedBy(DIRECTORY_TAG, doc.body, doc.signature, keyOf)).toEqual(openJson(DIRECTORY_TAG, doc.body, doc.signature, issuer.publicKey));
  });

  it('rejects a signature by another key, a non-canonical body and a non-JSON body', () => {
    const other = generateKeyPair();
    const forged = signJson(DIRECTORY_TAG, value, other);
    expect(() => openJsonSignedBy(DIRECTORY_TAG, forged.body, forged.signature, keyOf)).toThrow(IntegrityError);
    const loose = signDocument(DIRECTORY_TAG, new TextEncoder().encode(JSON.stringify({ n: 1, issuer: value.issuer })), issuer);
    expect(() => openJsonSignedBy(DIRECTORY_TAG, loose.body, loose.signature, keyOf)).toThrow(LayoutInvalidError);
    const junk = signDocument(DIRECTORY_TAG, Uint8Array.of(0xff), issuer);
    expect(() => openJsonSignedBy(DIRECTORY_TAG, junk.body, junk.signature, keyOf)).toThrow(LayoutInvalidError);
  });
});
