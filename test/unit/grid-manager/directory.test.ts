import { describe, it, expect } from 'vitest';
import { signDirectory, openDirectory } from '../../../libs/grid/index.js';
import { generateKeyPair, bytesEqual } from '../../../libs/crypto/index.js';
import { IntegrityError, LayoutInvalidError } from '../../../libs/errors/index.js';
import { signJson, DIRECTORY_TAG } from '../../../libs/auth/index.js';

const gm = generateKeyPair();
const s1 = generateKeyPair().publicKey;
const s2 = generateKeyPair().publicKey;
const content = {
  areaCode: '101',
  issuedAtMs: 1_700_000_000_000,
  servers: [
    { name: 'storage-02', publicKey: s2, address: '127.0.0.1:4002', certificateNotAfterMs: 1_800_000_000_000 },
    { name: 'storage-01', publicKey: s1, address: '127.0.0.1:4001', certificateNotAfterMs: 1_800_000_000_000 },
  ],
};

describe('signed directory', () => {
  it('round-trips through signDirectory and openDirectory', () => {
    const dir = openDirectory(signDirectory(content, gm), gm.publicKey);
    expect(dir.areaCode).toBe('101');
    expect(dir.issuedAtMs).toBe(content.issuedAtMs);
    expect(bytesEqual(dir.gridManager, gm.publicKey)).toBe(true);
    expect(dir.servers.map((s) => s.name).sort()).toEqual(['storage-01', 'storage-02']);
  });

  it('lists servers in public-key order so one directory has one body', () => {
    const a = signDirectory(content, gm);
    const b = signDirectory({ ...content, servers: [...content.servers].reverse() }, gm);
    expect(Buffer.from(a.body).equals(Buffer.from(b.body))).toBe(true);
  });

  it('rejects a body with one flipped bit', () => {
    const signed = signDirectory(content, gm);
    const body = Uint8Array.from(signed.body);
    body[20] = body[20]! ^ 0x01;
    expect(() => openDirectory({ body, signature: signed.signature }, gm.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a tampered signature', () => {
    const signed = signDirectory(content, gm);
    const signature = Uint8Array.from(signed.signature);
    signature[0] = signature[0]! ^ 0x80;
    expect(() => openDirectory({ body: signed.body, signature }, gm.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a directory signed by another key', () => {
    const other = generateKeyPair();
    expect(() => openDirectory(signDirectory(content, other), gm.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a correctly signed body that names a different grid manager', () => {
    const other = generateKeyPair();
    const signed = signDirectory(content, other);
    const body = JSON.parse(Buffer.from(signed.body).toString('utf8')) as Record<string, unknown>;
    // Signed by the trusted key, but the body must also name that key.
    const forged = signJson(DIRECTORY_TAG, body, gm);
    expect(() => openDirectory(forged, gm.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a signed body that is not a version-1 directory', () => {
    const signed = signJson(DIRECTORY_TAG, { version: 2, servers: [] }, gm);
    expect(() => openDirectory(signed, gm.publicKey)).toThrow(LayoutInvalidError);
  });
});
