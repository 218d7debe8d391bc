import { describe, it, expect } from 'vitest';
import { signResolution, openResolution, RESOLUTION_TAG, type ResolutionBody } from '../../../libs/federation/index.js';
import { signJson, DIRECTORY_TAG } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { IntegrityError, InvalidArgumentError, LayoutInvalidError, PreconditionError } from '../../../libs/errors/index.js';

const ch = generateKeyPair();
const gm = generateKeyPair();
const cp = generateKeyPair();
const NOW = 1_764_000_000_000;

function body(over: Partial<ResolutionBody> = {}): ResolutionBody {
  return {
    areaCode: '202',
    gridManager: gm.publicKey,
    priceUnitsPerGib: 5,
    issuedAtMs: NOW,
    expiresAtMs: NOW + 60_000,
    contactPoints: [{ address: '127.0.0.1:4500', publicKey: cp.publicKey }],
    ...over,
  };
}

describe('resolution', () => {
  it('round-trips through signResolution and openResolution', () => {
    const r = openResolution(signResolution(body(), ch), ch.publicKey, NOW + 1);
    expect(r).toEqual({ version: 1, ...body() });
  });

  it('signs canonical JSON with the documented field names', () => {
    const signed = signResolution(body(), ch);
    const json = JSON.parse(new TextDecoder().decode(signed.body));
    expect(json).toEqual({
      version: 1,
      areaCode: '202',
      gridManager: toHex(gm.publicKey),
      priceUnitsPerGib: 5,
      issuedAtMs: NOW,
      expiresAtMs: NOW + 60_000,
      contactPoints: [{ address: '127.0.0.1:4500', publicKey: toHex(cp.publicKey) }],
    });
  });

  it('rejects a tampered body', () => {
    const signed = signResolution(body(), ch);
    const text = new TextDecoder().decode(signed.body).replace('"priceUnitsPerGib":5', '"priceUnitsPerGib":1');
    expect(() => openResolution({ body: new TextEncoder().encode(text), signature: signed.signature }, ch.publicKey, NOW)).toThrow(IntegrityError);
  });

  it('rejects a flipped signature bit', () => {
    const signed = signResolution(body(), ch);
    const signature = Uint8Array.from(signed.signature);
    signature[10]! ^= 1;
    expect(() => openResolution({ body: signed.body, signature }, ch.publicKey, NOW)).toThrow(IntegrityError);
  });

  it('rejects a resolution signed by another key', () => {
    const other = generateKeyPair();
    expect(() => openResolution(signResolution(body(), other), ch.publicKey, NOW)).toThrow(IntegrityError);
  });

  it('rejects a document of another kind signed by the same key', () => {
    const signed = signJson(DIRECTORY_TAG, { version: 1, ...body(), gridManager: toHex(gm.publicKey), contactPoints: [] }, ch);
    expect(() => openResolution(signed, ch.publicKey, NOW)).toThrow(IntegrityError);
  });

  it('rejects an expired resolution with PreconditionError naming the area code', () => {
    const signed = signResolution(body(), ch);
    expect(() => openResolution(signed, ch.publicKey, NOW + 60_001)).toThrow(PreconditionError);
    expect(() => openResolution(signed, ch.publicKey, NOW + 60_001)).toThrow(/202/);
  });

  it('accepts a resolution at exactly its expiry time', () => {
    expect(openResolution(signResolution(body(), ch), ch.publicKey, NOW + 60_000).areaCode).toBe('202');
  });

  it('rejects a correctly signed body with an unexpected shape', () => {
    const signed = signJson(RESOLUTION_TAG, { version: 2, areaCode: '202' }, ch);
    expect(() => openResolution(signed, ch.publicKey, NOW)).toThrow(LayoutInvalidError);
  });

  it('refuses to sign a malformed area code', () => {
    expect(() => signResolution(body({ areaCode: '12' }), ch)).toThrow(InvalidArgumentError);
  });

  it('refuses to sign a resolution that expires before it is issued', () => {
    expect(() => signResolution(body({ expiresAtMs: NOW - 1 }), ch)).toThrow(InvalidArgumentError);
  });
});
