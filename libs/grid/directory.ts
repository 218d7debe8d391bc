/**
 * The grid's signed directory: the storage servers a member may place shares
 * on and read them from (DESIGN.md "Flows": a client asks its grid manager
 * for the signed server list).
 *
 * Body: canonical JSON (libs/auth signJson) signed by the grid key under
 * DIRECTORY_TAG ('intergrid:directory:v1'):
 *
 *   { "areaCode": "101", "gridManager": "<hex key>", "issuedAtMs": 1764…,
 *     "servers": [ { "address": "host:port", "certificateNotAfterMs": …,
 *                    "name": "storage-01", "publicKey": "<hex key>" } ],
 *     "version": 1 }
 *
 * Servers are sorted by public key. A verifier must check the signature with
 * the grid manager key it already trusts (from its config), never with the
 * key named inside the body; openDirectory also requires the two to agree.
 */
import { z } from 'zod';
import { signJson, openJson, DIRECTORY_TAG, type SignedDocument } from '../auth/index.js';
import { toHex, fromHex, bytesEqual, shortKey, type KeyPair } from '../crypto/index.js';
import { IntegrityError, LayoutInvalidError, assertBytes } from '../errors/index.js';

export const DIRECTORY_VERSION = 1;

/** One storage server as listed in the directory. */
export interface DirectoryServer {
  name: string;
  publicKey: Uint8Array;
  /** host:port it announced. */
  address: string;
  /** Its certificate's notAfter: clients may drop it after this. */
  certificateNotAfterMs: number;
}

/** A verified directory. */
export interface Directory {
  version: 1;
  areaCode: string;
  gridManager: Uint8Array;
  issuedAtMs: number;
  servers: DirectoryServer[];
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const bodySchema = z
  .object({
    version: z.literal(DIRECTORY_VERSION),
    areaCode: z.string().min(1).max(64),
    gridManager: hex32,
    issuedAtMs: safeInt,
    servers: z
      .array(
        z
          .object({
            name: z.string().max(256),
            publicKey: hex32,
            address: z.string().min(1).max(300),
            certificateNotAfterMs: safeInt,
          })
          .strict(),
      )
      .max(100_000),
  })
  .strict();

/**
 * Signs a directory with the grid key (the body names that key).
 * @throws InvalidArgumentError for bad fields or key pair.
 */
export function signDirectory(
  content: { areaCode: string; issuedAtMs: number; servers: DirectoryServer[] },
  gridKey: KeyPair,
): SignedDocument {
  const servers = [...content.servers]
    .map((s) => {
      assertBytes(`server ${s.name} publicKey`, s.publicKey, 32);
      return { name: s.name, publicKey: toHex(s.publicKey), address: s.address, certificateNotAfterMs: s.certificateNotAfterMs };
    })
    .sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  const body = {
    version: DIRECTORY_VERSION,
    areaCode: content.areaCode,
    gridManager: toHex(gridKey.publicKey),
    issuedAtMs: content.issuedAtMs,
    servers,
  };
  return signJson(DIRECTORY_TAG, body, gridKey);
}

/**
 * Verifies a signed directory against the grid manager key the caller
 * trusts and returns it parsed.
 * @example const dir = openDirectory(await gm.getDirectorySigned(), config.gridManager.publicKey)
 * @throws IntegrityError when the signature does not verify (tampered body or
 *   signature, wrong key) or the body names a different grid manager.
 * @throws LayoutInvalidError when the signed body is not a version-1 directory.
 */
export function openDirectory(signed: { body: Uint8Array; signature: Uint8Array }, gmPublicKey: Uint8Array): Directory {
  assertBytes('grid manager public key', gmPublicKey, 32);
  const raw = openJson(DIRECTORY_TAG, signed.body, signed.signature, gmPublicKey);
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LayoutInvalidError(`directory body is malformed: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  const d = parsed.data;
  const gridManager = fromHex(d.gridManager, 'directory gridManager', 32);
  if (!bytesEqual(gridManager, gmPublicKey)) {
    throw new IntegrityError(`directory names grid manager ${shortKey(gridManager)}, expected ${shortKey(gmPublicKey)}`);
  }
  return {
    version: DIRECTORY_VERSION,
    areaCode: d.areaCode,
    gridManager,
    issuedAtMs: d.issuedAtMs,
    servers: d.servers.map((s) => ({
      name: s.name,
      publicKey: fromHex(s.publicKey, 'directory server publicKey', 32),
      address: s.address,
      certificateNotAfterMs: s.certificateNotAfterMs,
    })),
  };
}

