/**
 * Resolutions: the clearinghouse's signed answer to "where is area code X?"
 * (DESIGN.md "Flows", long distance; proto/clearinghouse.proto Resolve).
 *
 * Body: canonical JSON (libs/auth signJson) signed by the clearinghouse key
 * under RESOLUTION_TAG ('intergrid:resolution:v1'):
 *
 *   { "areaCode": "202", "contactPoints": [ { "address": "host:port",
 *     "publicKey": "<hex key>" } ], "expiresAtMs": 1764…, "gridManager":
 *     "<hex key>", "issuedAtMs": 1764…, "priceUnitsPerGib": 5, "version": 1 }
 *
 * A gateway checks the signature with the clearinghouse key from its own
 * config (never a key carried by the message), then refuses the resolution
 * once `expiresAtMs` has passed, so a stale answer (a suspended grid, a
 * contact point that left, an old price) cannot be replayed for long.
 */
import { z } from 'zod';
import { signJson, openJson, type SignedDocument } from '../auth/index.js';
import { AREA_CODE_PATTERN, areaCodeSchema } from '../caps/index.js';
import { toHex, fromHex, type KeyPair } from '../crypto/index.js';
import { assertBytes, InvalidArgumentError, LayoutInvalidError, PreconditionError } from '../errors/index.js';

/** Document tag of a signed resolution. */
export const RESOLUTION_TAG = 'intergrid:resolution:v1';
export const RESOLUTION_VERSION = 1;

/** One contact point of the resolved grid. */
export interface ResolutionContactPoint {
  /** host:port a gateway dials. */
  address: string;
  /** The contact point's key (the subject of its contact-point certificate). */
  publicKey: Uint8Array;
}

/** A verified resolution. */
export interface Resolution {
  version: 1;
  areaCode: string;
  /** The grid manager key the clearinghouse admitted for this area code. */
  gridManager: Uint8Array;
  /** Price published for this grid at `issuedAtMs`, in units per GiB of forwarded ciphertext. */
  priceUnitsPerGib: number;
  issuedAtMs: number;
  expiresAtMs: number;
  contactPoints: ResolutionContactPoint[];
}

/** What the clearinghouse signs (version is filled in). */
export type ResolutionBody = Omit<Resolution, 'version'>;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const MAX_CONTACT_POINTS = 1000;

const bodySchema = z
  .object({
    version: z.literal(RESOLUTION_VERSION),
    areaCode: areaCodeSchema,
    gridManager: hex32,
    priceUnitsPerGib: safeInt,
    issuedAtMs: safeInt,
    expiresAtMs: safeInt,
    contactPoints: z
      .array(z.object({ address: z.string().min(1).max(300), publicKey: hex32 }).strict())
      .max(MAX_CONTACT_POINTS),
  })
  .strict();

function checkInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`resolution ${name} ${v} is not a non-negative safe integer`);
}

/**
 * Signs a resolution with the clearinghouse key.
 * @example signResolution({ areaCode: '202', gridManager, priceUnitsPerGib: 5, issuedAtMs: now, expiresAtMs: now + 60_000, contactPoints }, chKey)
 * @throws InvalidArgumentError for a malformed area code, key, integer or address.
 */
export function signResolution(body: ResolutionBody, chKey: KeyPair): SignedDocument {
  if (!AREA_CODE_PATTERN.test(body.areaCode)) throw new InvalidArgumentError(`resolution areaCode '${body.areaCode}' is not 3–8 digits`);
  assertBytes('resolution gridManager', body.gridManager, 32);
  checkInt('priceUnitsPerGib', body.priceUnitsPerGib);
  checkInt('issuedAtMs', body.issuedAtMs);
  checkInt('expiresAtMs', body.expiresAtMs);
  if (body.expiresAtMs < body.issuedAtMs) {
    throw new InvalidArgumentError(`resolution expiresAtMs ${body.expiresAtMs} is before issuedAtMs ${body.issuedAtMs}`);
  }
  if (body.contactPoints.length > MAX_CONTACT_POINTS) {
    throw new InvalidArgumentError(`resolution lists ${body.contactPoints.length} contact points, at most ${MAX_CONTACT_POINTS}`);
  }
  const contactPoints = body.contactPoints.map((c, i) => {
    assertBytes(`resolution contactPoints[${i}].publicKey`, c.publicKey, 32);
    if (typeof c.address !== 'string' || c.address.length < 1 || c.address.length > 300) {
      throw new InvalidArgumentError(`resolution contactPoints[${i}].address '${String(c.address).slice(0, 40)}' must be 1..300 characters`);
    }
    return { address: c.address, publicKey: toHex(c.publicKey) };
  });
  return signJson(
    RESOLUTION_TAG,
    {
      version: RESOLUTION_VERSION,
      areaCode: body.areaCode,
      gridManager: toHex(body.gridManager),
      priceUnitsPerGib: body.priceUnitsPerGib,
      issuedAtMs: body.issuedAtMs,
      expiresAtMs: body.expiresAtMs,
      contactPoints,
    },
    chKey,
  );
}

/**
 * Verifies a signed resolution against the clearinghouse key the caller
 * trusts and returns it parsed.
 * @example const r = openResolution(signed, config.clearinghouse.publicKey, Date.now())
 * @throws IntegrityError when the signature does not verify (tampered body or
 *   signature, other key).
 * @throws LayoutInvalidError when the signed body is not a version-1 resolution.
 * @throws PreconditionError when `now` is past `expiresAtMs` (ask again).
 */
export function openResolution(signed: { body: Uint8Array; signature: Uint8Array }, chPublicKey: Uint8Array, now: number): Resolution {
  assertBytes('clearinghouse public key', chPublicKey, 32);
  const raw = openJson(RESOLUTION_TAG, signed.body, signed.signature, chPublicKey);
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LayoutInvalidError(`resolution body is malformed: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  const d = parsed.data;
  if (d.expiresAtMs < d.issuedAtMs) {
    throw new LayoutInvalidError(`resolution for area code ${d.areaCode} expires (${d.expiresAtMs}) before it was issued (${d.issuedAtMs})`);
  }
  if (now > d.expiresAtMs) {
    throw new PreconditionError(
      `resolution for area code ${d.areaCode} expired at ${new Date(d.expiresAtMs).toISOString()} (now ${new Date(now).toISOString()}): resolve again`,
    );
  }
  return {
    version: RESOLUTION_VERSION,
    areaCode: d.areaCode,
    gridManager: fromHex(d.gridManager, 'resolution gridManager', 32),
    priceUnitsPerGib: d.priceUnitsPerGib,
    issuedAtMs: d.issuedAtMs,
    expiresAtMs: d.expiresAtMs,
    contactPoints: d.contactPoints.map((c) => ({ address: c.address, publicKey: fromHex(c.publicKey, 'resolution contact point publicKey', 32) })),
  };
}
