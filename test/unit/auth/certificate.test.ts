/**
 * Certificates: the encoder follows the documented layout byte for byte, the
 * decoder is strict (one value, one encoding), and no random or bit-flipped
 * bytes ever verify as a certificate.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, generateKeyPair, keyPairFromSecret, toHex } from '../../../libs/crypto/index.js';
import { InvalidArgumentError, LayoutInvalidError } from '../../../libs/errors/index.js';
import {
  AccessDeniedError,
  AuthRejectedError,
  decodeCertificate,
  decodeCertificateBase64,
  encodeCertificate,
  encodeCertificateBase64,
  issueCertificate,
  validityWindow,
  verifyCertificate,
  ROLES,
  type CertificateBody,
  type Role,
} from '../../../libs/auth/index.js';
import { rawBody, rawSigned, type RawBody } from './helpers.js';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/auth.json', import.meta.url), 'utf8'));
const issuer = keyPairFromSecret(fromHex(vectors.issuerSeedHex));
const subject = keyPairFromSecret(fromHex(vectors.subjectSeedHex));
const NOW = 1_767_300_000_000;

function body(over: Partial<Omit<CertificateBody, 'issuer'>> = {}): Omit<CertificateBody, 'issuer'> {
  return { role: 'client', subject: subject.publicKey, grid: '101', notBefore: NOW - 1000, notAfter: NOW + 1000, limits: {}, ...over };
}

function raw(over: Partial<RawBody> = {}): RawBody {
  return {
    role: 'client',
    subject: subject.publicKey,
    issuer: issuer.publicKey,
    grid: '101',
    notBefore: 1000n,
    notAfter: 2000n,
    limits: [],
    ...over,
  };
}

const trust = { trustedIssuers: [issuer.publicKey], now: NOW };

describe('certificate layout', () => {
  it('pins the encoding of a fixed certificate (test/vectors/auth.json)', () => {
    const v = vectors.certificate;
    const cert = issueCertificate(issuer, { role: v.role, subject: subject.publicKey, grid: v.grid, notBefore: v.notBefore, notAfter: v.notAfter, limits: v.limits });
    expect(toHex(cert.encoded)).toBe(v.encodedHex);
    expect(encodeCertificateBase64(cert)).toBe(v.base64);
  });

  it('encodes the body exactly as the documented layout table (independent writer)', () => {
    const v = vectors.certificate;
    const expected = rawBody(
      raw({
        notBefore: BigInt(v.notBefore),
        notAfter: BigInt(v.notAfter),
        limits: [
          ['max_files', 500n],
          ['quota_bytes', 1_000_000_000n],
        ],
      }),
    );
    const encoded = fromHex(v.encodedHex);
    expect(toHex(encoded.subarray(0, encoded.length - 64))).toBe(toHex(expected));
    expect(toHex(rawSigned(expected, issuer))).toBe(v.encodedHex);
  });

  it('round-trips any valid body through encode/decode and verifies', () => {
    const limitKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/);
    const arb = fc.record({
      role: fc.constantFrom(...ROLES),
      grid: fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
      notBefore: fc.integer({ min: 0, max: 2 ** 52 }),
      span: fc.integer({ min: 0, max: 2 ** 40 }),
      limits: fc.dictionary(limitKey, fc.maxSafeNat(), { maxKeys: 8 }),
    });
    fc.assert(
      fc.property(arb, (b) => {
        const cert = issueCertificate(issuer, { ...body(), role: b.role, grid: b.grid, notBefore: b.notBefore, notAfter: b.notBefore + b.span, limits: b.limits });
        const back = decodeCertificate(encodeCertificate(cert));
        expect(back).toEqual(cert);
        expect(decodeCertificateBase64(encodeCertificateBase64(cert))).toEqual(cert);
        const ok = verifyCertificate(cert, { trustedIssuers: [issuer.publicKey], now: b.notBefore });
        expect(ok.role).toBe(b.role);
      }),
      { numRuns: 60 },
    );
  });
});

describe('strict decoding', () => {
  const bad: [string, Uint8Array][] = [
    ['bad magic', rawSigned(rawBody(raw({ magic: [0x49, 0x47, 0x43, 0x55] })), issuer)],
    ['unsupported version', rawSigned(rawBody(raw({ version: 2 })), issuer)],
    ['unknown role', rawSigned(rawBody(raw({ role: 'superuser' })), issuer)],
    ['role with upper case', rawSigned(rawBody(raw({ role: 'Client' })), issuer)],
    ['empty grid', rawSigned(rawBody(raw({ grid: '' })), issuer)],
    ['grid with a space', rawSigned(rawBody(raw({ grid: '1 1' })), issuer)],
    ['notAfter before notBefore', rawSigned(rawBody(raw({ notBefore: 2000n, notAfter: 1000n })), issuer)],
    ['integer above 2^53-1', rawSigned(rawBody(raw({ notAfter: 2n ** 53n })), issuer)],
    [
      'limits out of order',
      rawSigned(
        rawBody(
          raw({
            limits: [
              ['b', 1n],
              ['a', 1n],
            ],
          }),
        ),
        issuer,
      ),
    ],
    [
      'duplicate limit',
      rawSigned(
        rawBody(
          raw({
            limits: [
              ['a', 1n],
              ['a', 2n],
            ],
          }),
        ),
        issuer,
      ),
    ],
    ['limit name with upper case', rawSigned(rawBody(raw({ limits: [['Quota', 1n]] })), issuer)],
    ['trailing bytes after the limits', rawSigned(rawBody(raw({ trailing: [0] })), issuer)],
    ['truncated body', rawSigned(rawBody(raw()).subarray(0, 50), issuer)],
    ['shorter than a signature', new Uint8Array(10)],
  ];
  for (const [what, bytes] of bad) {
    it(`rejects ${what} with LayoutInvalidError, even when correctly signed`, () => {
      expect(() => decodeCertificate(bytes)).toThrow(LayoutInvalidError);
      expect(() => verifyCertificate(bytes, trust)).toThrow(AuthRejectedError);
    });
  }

  it('accepts the same fields when well formed (the table above fails only for its defect)', () => {
    expect(decodeCertificate(rawSigned(rawBody(raw({ limits: [['a', 1n]] })), issuer)).limits).toEqual({ a: 1 });
  });

  it('rejects non-canonical base64 (whitespace, missing padding)', () => {
    // A grid length whose encoding needs base64 padding.
    let text = '';
    for (let g = 1; !text.endsWith('='); g++) text = encodeCertificateBase64(issueCertificate(issuer, body({ grid: '1'.repeat(g) })));
    expect(() => decodeCertificateBase64(` ${text}`)).toThrow(LayoutInvalidError);
    expect(() => decodeCertificateBase64(text.replace(/=+$/, ''))).toThrow(LayoutInvalidError);
  });

  it('never verifies random bytes, even behind a valid magic and version', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, prefixed) => {
        const input = prefixed ? Uint8Array.from([0x49, 0x47, 0x43, 0x54, 1, ...bytes]) : bytes;
        expect(() => verifyCertificate(input, { trustedIssuers: [issuer.publicKey], now: NOW })).toThrow(AuthRejectedError);
      }),
      { numRuns: 300 },
    );
  });

  it('never verifies a certificate with any single bit flipped', () => {
    const cert = issueCertificate(issuer, body({ limits: { quota_bytes: 5 } }));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cert.encoded.length * 8 - 1 }), (bit) => {
        const bytes = Uint8Array.from(cert.encoded);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        // Trust the flipped issuer too, so only the signature can catch an issuer-field flip.
        let flippedIssuer: Uint8Array | undefined;
        try {
          flippedIssuer = decodeCertificate(bytes).issuer;
        } catch {
          /* layout already broken */
        }
        const trusted = flippedIssuer ? [issuer.publicKey, flippedIssuer] : [issuer.publicKey];
        expect(() => verifyCertificate(bytes, { trustedIssuers: trusted, now: NOW })).toThrow(AuthRejectedError);
      }),
      { numRuns: 400 },
    );
  });
});

describe('verifyCertificate', () => {
  const cert = issueCertificate(issuer, body());

  it('accepts a trusted, valid certificate and returns its decoded fields', () => {
    const ok = verifyCertificate(cert, { ...trust, expectedRole: 'client', expectedSubject: subject.publicKey });
    expect(toHex(ok.subject)).toBe(toHex(subject.publicKey));
  });

  it('trusts issuers per role through a lookup function', () => {
    const lookup = (role: Role) => (role === 'client' ? [issuer.publicKey] : []);
    expect(verifyCertificate(cert, { trustedIssuers: lookup, now: NOW }).role).toBe('client');
    const server = issueCertificate(issuer, body({ role: 'storage-server' }));
    expect(() => verifyCertificate(server, { trustedIssuers: lookup, now: NOW })).toThrow(/not trusted for role storage-server/);
  });

  const rejections: [string, () => unknown, string][] = [
    ['untrusted-issuer', () => verifyCertificate(cert, { trustedIssuers: [generateKeyPair().publicKey], now: NOW }), 'is not trusted'],
    ['not-yet-valid', () => verifyCertificate(cert, { ...trust, now: NOW - 1001 }), 'not valid until'],
    ['expired', () => verifyCertificate(cert, { ...trust, now: NOW + 1001 }), 'expired at'],
    ['wrong-subject', () => verifyCertificate(cert, { ...trust, expectedSubject: issuer.publicKey }), 'subject is not'],
  ];
  for (const [reason, run, fragment] of rejections) {
    it(`rejects with AuthRejectedError '${reason}'`, () => {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuthRejectedError);
      expect((err as AuthRejectedError).reason).toBe(reason);
      expect((err as Error).message).toContain(fragment);
    });
  }

  it('rejects a role outside expectedRole with AccessDeniedError', () => {
    expect(() => verifyCertificate(cert, { ...trust, expectedRole: ['admin', 'gateway'] })).toThrow(AccessDeniedError);
  });

  it('ignores edited fields of the object and verifies its encoded bytes', () => {
    const edited = { ...cert, role: 'admin' as const, notAfter: NOW + 10 ** 9 };
    expect(verifyCertificate(edited, trust).role).toBe('client');
  });

  it('accepts the boundaries of the validity window (inclusive)', () => {
    expect(verifyCertificate(cert, { ...trust, now: NOW - 1000 }).role).toBe('client');
    expect(verifyCertificate(cert, { ...trust, now: NOW + 1000 }).role).toBe('client');
  });
});

describe('issueCertificate arguments', () => {
  const bad: [string, Partial<Omit<CertificateBody, 'issuer'>>][] = [
    ['unknown role', { role: 'root' as Role }],
    ['short subject', { subject: new Uint8Array(31) }],
    ['empty grid', { grid: '' }],
    ['notAfter before notBefore', { notBefore: 10, notAfter: 9 }],
    ['fractional time', { notAfter: NOW + 0.5 }],
    ['negative limit', { limits: { quota_bytes: -1 } }],
    ['bad limit name', { limits: { 'Quota-Bytes': 1 } }],
  ];
  for (const [what, over] of bad) {
    it(`rejects ${what} with InvalidArgumentError`, () => {
      expect(() => issueCertificate(issuer, body(over))).toThrow(InvalidArgumentError);
    });
  }

  it('rejects a bare public key where the issuer key pair belongs', () => {
    expect(() => issueCertificate({ publicKey: issuer.publicKey } as never, body())).toThrow(InvalidArgumentError);
  });

  it('validityWindow backdates the start and never goes below zero', () => {
    expect(validityWindow(NOW, 3600_000)).toEqual({ notBefore: NOW - 60_000, notAfter: NOW + 3600_000 });
    expect(validityWindow(10, 5).notBefore).toBe(0);
  });
});
