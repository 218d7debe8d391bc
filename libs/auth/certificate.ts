/**
 * Certificates: a canonical byte encoding of who holds a key, in which role,
 * for which grid and until when, signed by the issuer (DESIGN.md "Keys,
 * certificates, request signing"; long form in docs/auth.md).
 *
 * Layout, version 1 (all integers big-endian):
 *
 * | offset      | size | field                                                        |
 * |-------------|------|--------------------------------------------------------------|
 * | 0           | 4    | magic "IGCT"                                                 |
 * | 4           | 1    | version = 1                                                  |
 * | 5           | 1    | r = role length (1..32)                                      |
 * | 6           | r    | role, ASCII (one of ROLES)                                   |
 * | 6+r         | 32   | subject Ed25519 public key                                   |
 * | 38+r        | 32   | issuer Ed25519 public key                                    |
 * | 70+r        | 1    | g = grid (area code) length (1..64)                          |
 * | 71+r        | g    | grid, printable ASCII 0x21..0x7e                             |
 * | 71+r+g      | 8    | notBefore, Unix ms                                           |
 * | 79+r+g      | 8    | notAfter, Unix ms (>= notBefore)                             |
 * | 87+r+g      | 2    | m = number of limits (0..64)                                 |
 * | 89+r+g      | …    | m × { u8 key length (1..64), key [a-z][a-z0-9_]*, u64 value },|
 * |             |      | keys strictly ascending (so one value has one encoding)      |
 * | end-64      | 64   | Ed25519 signature over taggedHash(CERTIFICATE_TAG, body)     |
 *
 * "body" is every byte before the signature. Every integer must be at most
 * 2^53-1 so it round-trips through a JS number.
 */
import { assertBytes, assertInt, InvalidArgumentError, LayoutInvalidError } from '../errors/index.js';
import {
  sign,
  verify,
  taggedHash,
  bytesEqual,
  shortKey,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  type KeyPair,
} from '../crypto/index.js';
import { ROLES, type Certificate, type CertificateBody, type Role } from './types.js';
import { ByteReader, ByteWriter } from './byte-codec.js';
import { AuthRejectedError, AccessDeniedError } from './auth-errors.js';

/** Hash tag of the signed certificate body: a signature made for anything else never verifies as a certificate. */
export const CERTIFICATE_TAG = 'intergrid:certificate:v1';
export const CERTIFICATE_MAGIC = Uint8Array.of(0x49, 0x47, 0x43, 0x54); // "IGCT"
export const CERTIFICATE_VERSION = 1;
export const MAX_LIMITS = 64;

const ROLE_PATTERN = /^[a-z][a-z-]{0,31}$/;
const GRID_PATTERN = /^[\x21-\x7e]{1,64}$/;
const LIMIT_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Checks a body's fields; @throws InvalidArgumentError naming the field and value. */
function checkBody(body: CertificateBody): void {
  if (typeof body.role !== 'string' || !isRole(body.role)) {
    throw new InvalidArgumentError(`certificate role '${String(body.role)}' is not one of ${ROLES.join(', ')}`);
  }
  assertBytes('certificate subject', body.subject, PUBLIC_KEY_BYTES);
  assertBytes('certificate issuer', body.issuer, PUBLIC_KEY_BYTES);
  if (typeof body.grid !== 'string' || !GRID_PATTERN.test(body.grid)) {
    throw new InvalidArgumentError(`certificate grid '${String(body.grid)}' must be 1..64 printable ASCII characters`);
  }
  assertInt('certificate notBefore', body.notBefore);
  assertInt('certificate notAfter', body.notAfter);
  if (body.notAfter < body.notBefore) {
    throw new InvalidArgumentError(`certificate notAfter ${body.notAfter} is before notBefore ${body.notBefore}`);
  }
  if (typeof body.limits !== 'object' || body.limits === null) {
    throw new InvalidArgumentError('certificate limits must be an object');
  }
  const keys = Object.keys(body.limits);
  if (keys.length > MAX_LIMITS) {
    throw new InvalidArgumentError(`certificate has ${keys.length} limits, at most ${MAX_LIMITS} allowed`);
  }
  for (const k of keys) {
    if (!LIMIT_KEY_PATTERN.test(k)) {
      throw new InvalidArgumentError(`certificate limit name '${k}' must match ${LIMIT_KEY_PATTERN.source}`);
    }
    assertInt(`certificate limit '${k}'`, body.limits[k]);
  }
}

/** The canonical body bytes (everything the issuer signs). Fields must already be checked. */
function encodeBody(body: CertificateBody): Uint8Array {
  const w = new ByteWriter()
    .bytes(CERTIFICATE_MAGIC)
    .u8(CERTIFICATE_VERSION)
    .shortString(body.role)
    .bytes(body.subject)
    .bytes(body.issuer)
    .shortString(body.grid)
    .u64(body.notBefore)
    .u64(body.notAfter);
  // Sorted by code unit; keys are ASCII, so this is byte order too.
  const keys = Object.keys(body.limits).sort();
  w.u16(keys.length);
  for (const k of keys) w.shortString(k).u64(body.limits[k]!);
  return w.finish();
}

function bodyDigest(body: Uint8Array): Uint8Array {
  return taggedHash(CERTIFICATE_TAG, body);
}

/**
 * Issues a certificate: fills in `issuer` from the key pair, encodes the body
 * canonically and signs it.
 * @example issueCertificate(gridManagerKey, { role: 'client', subject, grid: '101', notBefore, notAfter, limits: { quota_bytes: 1e9 } })
 * @throws InvalidArgumentError for an unknown role, bad key length, bad grid, times or limits.
 */
export function issueCertificate(issuer: KeyPair, body: Omit<CertificateBody, 'issuer'>): Certificate {
  assertKeyPair('issuer', issuer);
  assertBytes('certificate subject', body.subject, PUBLIC_KEY_BYTES);
  const full: CertificateBody = {
    role: body.role,
    subject: Uint8Array.from(body.subject),
    issuer: Uint8Array.from(issuer.publicKey),
    grid: body.grid,
    notBefore: body.notBefore,
    notAfter: body.notAfter,
    limits: { ...body.limits },
  };
  checkBody(full);
  const encodedBody = encodeBody(full);
  const signature = sign(bodyDigest(encodedBody), issuer.secretKey);
  const encoded = new Uint8Array(encodedBody.length + SIGNATURE_BYTES);
  encoded.set(encodedBody);
  encoded.set(signature, encodedBody.length);
  return { ...full, encoded, signature };
}

/** The canonical bytes of a certificate (body followed by the signature). */
export function encodeCertificate(cert: Certificate): Uint8Array {
  return Uint8Array.from(cert.encoded);
}

/**
 * Parses canonical certificate bytes. Checks the layout only, not the
 * signature or validity: call verifyCertificate for that.
 * @throws LayoutInvalidError for a wrong magic/version, truncation, trailing
 *   bytes, unknown role, non-canonical limits or out-of-range integers.
 */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  if (!(bytes instanceof Uint8Array)) throw new LayoutInvalidError('certificate: expected bytes');
  if (bytes.length < SIGNATURE_BYTES) {
    throw new LayoutInvalidError(`certificate: ${bytes.length} bytes is too short`);
  }
  const bodyBytes = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const r = new ByteReader(bodyBytes, 'certificate');
  const magic = r.bytes(4, 'magic');
  if (!bytesEqual(magic, CERTIFICATE_MAGIC)) throw new LayoutInvalidError('certificate: bad magic (expected "IGCT")');
  const version = r.u8('version');
  if (version !== CERTIFICATE_VERSION) {
    throw new LayoutInvalidError(`certificate: version ${version} is not supported (expected ${CERTIFICATE_VERSION})`);
  }
  const role = r.asciiString('role', 1, 32, ROLE_PATTERN);
  if (!isRole(role)) throw new LayoutInvalidError(`certificate: unknown role '${role}'`);
  const subject = r.bytes(PUBLIC_KEY_BYTES, 'subject');
  const issuer = r.bytes(PUBLIC_KEY_BYTES, 'issuer');
  const grid = r.asciiString('grid', 1, 64, GRID_PATTERN);
  const notBefore = r.u64('notBefore');
  const notAfter = r.u64('notAfter');
  if (notAfter < notBefore) {
    throw new LayoutInvalidError(`certificate: notAfter ${notAfter} is before notBefore ${notBefore}`);
  }
  const count = r.u16('limit count');
  if (count > MAX_LIMITS) throw new LayoutInvalidError(`certificate: ${count} limits, at most ${MAX_LIMITS} allowed`);
  const limits: Record<string, number> = {};
  let previous: string | undefined;
  for (let i = 0; i < count; i++) {
    const key = r.asciiString(`limit ${i} name`, 1, 64, LIMIT_KEY_PATTERN);
    // Strictly ascending keys: no duplicates and exactly one encoding per limit set.
    if (previous !== undefined && key <= previous) {
      throw new LayoutInvalidError(`certificate: limit '${key}' is not in ascending order after '${previous}'`);
    }
    limits[key] = r.u64(`limit '${key}'`);
    previous = key;
  }
  r.end();
  const encoded = Uint8Array.from(bytes);
  return {
    role,
    subject,
    issuer,
    grid,
    notBefore,
    notAfter,
    limits,
    encoded,
    signature: encoded.slice(bodyBytes.length),
  };
}

/**
 * Certificates whose issuer signature already verified, keyed by their exact
 * encoded bytes. The signature check is a pure function of those bytes (the
 * issuer key is inside them), so remembering it is safe; trust, validity and
 * role are still checked on every use. Every call presents its certificates,
 * so this saves an Ed25519 verification per certificate per call. Bounded:
 * the oldest entry is dropped first.
 */
const verifiedSignatures = new Map<string, true>();
const MAX_VERIFIED_SIGNATURES = 4096;

function issuerSignatureValid(c: Certificate): boolean {
  const key = Buffer.from(c.encoded.buffer, c.encoded.byteOffset, c.encoded.byteLength).toString('latin1');
  if (verifiedSignatures.has(key)) return true;
  const body = c.encoded.subarray(0, c.encoded.length - SIGNATURE_BYTES);
  if (!verify(c.signature, bodyDigest(body), c.issuer)) return false;
  if (verifiedSignatures.size >= MAX_VERIFIED_SIGNATURES) {
    const oldest = verifiedSignatures.keys().next().value;
    if (oldest !== undefined) verifiedSignatures.delete(oldest);
  }
  verifiedSignatures.set(key, true);
  return true;
}

export interface VerifyCertificateOptions {
  /** Issuers trusted for the certificate's role: a list, or a lookup by role (AuthPolicy.issuersFor). */
  trustedIssuers: readonly Uint8Array[] | ((role: Role) => readonly Uint8Array[]);
  /** Current time, Unix ms. */
  now: number;
  /** If given, the certificate must carry this role (else AccessDeniedError 'wrong-role'). */
  expectedRole?: Role | readonly Role[];
  /** If given, the certificate must be for this public key (else AuthRejectedError 'wrong-subject'). */
  expectedSubject?: Uint8Array;
}

/**
 * Verifies a certificate from its encoded bytes (the other fields of `cert`
 * are ignored, so a hand-edited object cannot pass) and returns the decoded,
 * verified certificate. Checks, in order: layout, issuer trusted for the
 * role, issuer signature, not yet valid, expired, subject, role.
 * @throws AuthRejectedError with reason 'malformed' | 'untrusted-issuer' |
 *   'bad-certificate-signature' | 'not-yet-valid' | 'expired' | 'wrong-subject'.
 * @throws AccessDeniedError with reason 'wrong-role'.
 */
export function verifyCertificate(cert: Certificate | Uint8Array, opts: VerifyCertificateOptions): Certificate {
  const bytes = cert instanceof Uint8Array ? cert : cert.encoded;
  let c: Certificate;
  try {
    c = decodeCertificate(bytes);
  } catch (e) {
    throw new AuthRejectedError('malformed', `certificate is malformed: ${(e as Error).message}`, { cause: e });
  }
  const label = `${c.role} certificate for ${shortKey(c.subject)}`;
  const trusted = typeof opts.trustedIssuers === 'function' ? opts.trustedIssuers(c.role) : opts.trustedIssuers;
  if (!trusted.some((k) => bytesEqual(k, c.issuer))) {
    throw new AuthRejectedError('untrusted-issuer', `${label}: issuer ${shortKey(c.issuer)} is not trusted for role ${c.role}`);
  }
  if (!issuerSignatureValid(c)) {
    throw new AuthRejectedError('bad-certificate-signature', `${label}: issuer signature does not verify`);
  }
  if (opts.now < c.notBefore) {
    throw new AuthRejectedError('not-yet-valid', `${label}: not valid until ${new Date(c.notBefore).toISOString()}`);
  }
  if (opts.now > c.notAfter) {
    throw new AuthRejectedError('expired', `${label}: expired at ${new Date(c.notAfter).toISOString()}`);
  }
  if (opts.expectedSubject !== undefined && !bytesEqual(opts.expectedSubject, c.subject)) {
    throw new AuthRejectedError('wrong-subject', `${label}: subject is not ${shortKey(opts.expectedSubject)}`);
  }
  if (opts.expectedRole !== undefined) {
    const roles: readonly Role[] = typeof opts.expectedRole === 'string' ? [opts.expectedRole] : opts.expectedRole;
    if (!roles.includes(c.role)) {
      throw new AccessDeniedError('wrong-role', `${label}: role ${c.role} is not ${roles.join(' or ')}`);
    }
  }
  return c;
}

/** Encodes a certificate as standard base64 (for JSON configs and certificate files). */
export function encodeCertificateBase64(cert: Certificate): string {
  return Buffer.from(cert.encoded).toString('base64');
}

/**
 * Parses base64 of a certificate's canonical bytes. Only the canonical
 * base64 form (padded, no whitespace) is accepted.
 * @throws LayoutInvalidError for bad base64 or a malformed certificate.
 */
export function decodeCertificateBase64(text: string): Certificate {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new LayoutInvalidError('certificate: not base64');
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (Buffer.from(bytes).toString('base64') !== text) throw new LayoutInvalidError('certificate: non-canonical base64');
  return decodeCertificate(bytes);
}

/** Guards against a bare key being passed where a key pair is expected (a common slip). */
export function assertKeyPair(name: string, key: KeyPair): void {
  assertBytes(`${name}.secretKey`, key?.secretKey, 32);
  assertBytes(`${name}.publicKey`, key?.publicKey, PUBLIC_KEY_BYTES);
}

/**
 * A validity window for issuers: starts `backdateMs` before `now` so a
 * verifier whose clock runs a little behind the issuer's does not see the
 * fresh certificate as not yet valid.
 * @throws InvalidArgumentError for negative or non-integer values.
 */
/** Longest validity a request may ask of a certificate or approval (100 years). */
export const MAX_VALIDITY_MS = 100 * 365 * 86_400_000;

export function validityWindow(now: number, lifetimeMs: number, backdateMs = 60_000): { notBefore: number; notAfter: number } {
  assertInt('now', now);
  assertInt('lifetimeMs', lifetimeMs, 1);
  assertInt('backdateMs', backdateMs);
  return { notBefore: Math.max(0, now - backdateMs), notAfter: now + lifetimeMs };
}
