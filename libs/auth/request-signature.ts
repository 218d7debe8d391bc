/**
 * The signed request (DESIGN.md "Keys, certificates, request signing";
 * docs/auth.md): what the client interceptor attaches to every call and the
 * server check reads back.
 *
 * Metadata (gRPC header) keys; `-bin` values travel base64 on the wire:
 *
 * | key                 | value                                              |
 * |---------------------|----------------------------------------------------|
 * | ig-auth-key-bin     | caller's 32-byte Ed25519 public key                |
 * | ig-auth-cert-bin    | a certificate's canonical bytes (repeatable, ≤ 8)  |
 * | ig-auth-ts          | timestamp, decimal Unix milliseconds               |
 * | ig-auth-nonce-bin   | 16 random bytes                                    |
 * | ig-auth-sig-bin     | 64-byte Ed25519 signature over the request digest  |
 * | ig-auth-target-bin  | 32-byte key of the server the request is for       |
 *
 * Request digest (all integers big-endian):
 *
 *   taggedHash(REQUEST_TAG, u16 len(path) || path (UTF-8) || u64 timestamp
 *              || nonce (16) || messageHash (32) || caller public key (32)
 *              || target server public key (32))
 *
 * The target is the Ed25519 identity key of the server the caller means to
 * reach: the key its TLS certificate is pinned to (libs/tls). The server
 * verifies the signature with ITS OWN key in the target's place, so a
 * request signed for storage server S1 does not verify at S2, whatever S2's
 * nonce cache holds (docs/security.md "Replay"). The target travels in the
 * metadata too, only so a refusal can say which server the request was for.
 *
 * `path` is the full method path ("/intergrid.storage.Storage/ListShares");
 * `messageHash` is SHA-256 of the serialized first request message, or
 * NO_MESSAGE_HASH when a request stream is closed before its first message.
 * Only the path is variable-length and it is length-prefixed, so two
 * different requests never share a digest.
 */
import { Metadata } from '@grpc/grpc-js';
import {
  sign,
  verify,
  taggedHash,
  randomBytes,
  shortKey,
  bytesEqual,
  HASH_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  type KeyPair,
} from '../crypto/index.js';
import { assertBytes, assertInt, InvalidArgumentError } from '../errors/index.js';
import { AuthRejectedError } from './auth-errors.js';
import type { Identity } from './types.js';

/** v2: the digest names the target server (v1 did not, so v1 requests could be replayed at another server). */
export const REQUEST_TAG = 'intergrid:request:v2';
export const NONCE_BYTES = 16;
/** At most this many certificates are read from one request (bounds the server's work). */
export const MAX_PRESENTED_CERTIFICATES = 8;

export const AUTH_METADATA_KEYS = {
  publicKey: 'ig-auth-key-bin',
  certificate: 'ig-auth-cert-bin',
  timestamp: 'ig-auth-ts',
  nonce: 'ig-auth-nonce-bin',
  signature: 'ig-auth-sig-bin',
  target: 'ig-auth-target-bin',
} as const;

/**
 * Message hash signed for a request stream that half-closes before sending
 * any message. 32 zero bytes: not a SHA-256 output anyone can produce, so it
 * never equals the hash of a real (even empty) first message.
 */
export const NO_MESSAGE_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** The authentication fields of one request, as read from its metadata. */
export interface RequestCredentials {
  publicKey: Uint8Array;
  /** Certificates' canonical bytes, not yet decoded or verified. */
  certificates: Uint8Array[];
  timestamp: number;
  nonce: Uint8Array;
  signature: Uint8Array;
  /** The server key the caller says it signed for (checked by the signature, not trusted alone). */
  target: Uint8Array;
}

/**
 * The 32-byte digest a caller signs.
 * @throws InvalidArgumentError for a bad path, timestamp or field length.
 */
export function requestDigest(
  path: string,
  timestamp: number,
  nonce: Uint8Array,
  messageHash: Uint8Array,
  publicKey: Uint8Array,
  target: Uint8Array,
): Uint8Array {
  const p = new TextEncoder().encode(path);
  if (p.length === 0 || p.length > 0xffff) throw new InvalidArgumentError(`method path length ${p.length} is outside [1, 65535]`);
  assertInt('timestamp', timestamp);
  assertBytes('nonce', nonce, NONCE_BYTES);
  assertBytes('messageHash', messageHash, HASH_BYTES);
  assertBytes('publicKey', publicKey, PUBLIC_KEY_BYTES);
  assertBytes('target', target, PUBLIC_KEY_BYTES);
  const fixed = new Uint8Array(2 + 8);
  const view = new DataView(fixed.buffer);
  view.setUint16(0, p.length);
  view.setBigUint64(2, BigInt(timestamp));
  return taggedHash(REQUEST_TAG, fixed.subarray(0, 2), p, fixed.subarray(2), nonce, messageHash, publicKey, target);
}

/**
 * Signs one request for the server whose key is `target`: picks a fresh
 * random nonce and returns the fields to send.
 * @throws InvalidArgumentError for bad arguments.
 */
export function signRequest(
  keyPair: KeyPair,
  target: Uint8Array,
  path: string,
  messageHash: Uint8Array,
  timestamp: number,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): { timestamp: number; nonce: Uint8Array; signature: Uint8Array } {
  const digest = requestDigest(path, timestamp, nonce, messageHash, keyPair.publicKey, target);
  return { timestamp, nonce, signature: sign(digest, keyPair.secretKey) };
}

/**
 * Writes the signed-request keys into `metadata` (replacing any earlier
 * values of those keys). Every certificate of the identity is presented; the
 * server picks the one whose role the method allows.
 * @throws InvalidArgumentError for bad arguments.
 */
export function attachRequestCredentials(
  metadata: Metadata,
  identity: Identity,
  target: Uint8Array,
  path: string,
  messageHash: Uint8Array,
  now: number,
): void {
  const signed = signRequest(identity.keyPair, target, path, messageHash, now);
  const K = AUTH_METADATA_KEYS;
  for (const key of Object.values(K)) metadata.remove(key);
  metadata.set(K.publicKey, Buffer.from(identity.keyPair.publicKey));
  for (const cert of identity.certificates) metadata.add(K.certificate, Buffer.from(cert.encoded));
  metadata.set(K.timestamp, String(signed.timestamp));
  metadata.set(K.nonce, Buffer.from(signed.nonce));
  metadata.set(K.signature, Buffer.from(signed.signature));
  metadata.set(K.target, Buffer.from(target));
}

function single(metadata: Metadata, key: string): Uint8Array | string {
  const values = metadata.get(key);
  if (values.length === 0) throw new AuthRejectedError('missing-credentials', `missing credentials: request has no ${key} metadata (is the caller using the auth interceptor?)`);
  if (values.length > 1) throw new AuthRejectedError('malformed', `request has ${values.length} ${key} values, expected 1`);
  const v = values[0]!;
  return typeof v === 'string' ? v : new Uint8Array(v);
}

function binary(metadata: Metadata, key: string, length: number): Uint8Array {
  const v = single(metadata, key);
  if (typeof v === 'string' || v.length !== length) {
    throw new AuthRejectedError('malformed', `request ${key} must be ${length} bytes, got ${typeof v === 'string' ? 'text' : v.length}`);
  }
  return v;
}

/**
 * Reads and checks the shape of a request's authentication metadata.
 * @throws AuthRejectedError 'missing-credentials' when a key is absent,
 *   'malformed' when a value has the wrong size or form.
 */
export function readRequestCredentials(metadata: Metadata): RequestCredentials {
  const K = AUTH_METADATA_KEYS;
  const publicKey = binary(metadata, K.publicKey, PUBLIC_KEY_BYTES);
  const ts = single(metadata, K.timestamp);
  // Decimal digits only, no sign or exponent: one text per timestamp.
  if (typeof ts !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(ts) || !Number.isSafeInteger(Number(ts))) {
    throw new AuthRejectedError('malformed', `request ${K.timestamp} '${String(ts).slice(0, 20)}' is not decimal milliseconds`);
  }
  const nonce = binary(metadata, K.nonce, NONCE_BYTES);
  const signature = binary(metadata, K.signature, SIGNATURE_BYTES);
  const target = binary(metadata, K.target, PUBLIC_KEY_BYTES);
  const certs = metadata.get(K.certificate);
  if (certs.length > MAX_PRESENTED_CERTIFICATES) {
    throw new AuthRejectedError('malformed', `request presents ${certs.length} certificates, at most ${MAX_PRESENTED_CERTIFICATES} allowed`);
  }
  const certificates = certs.map((c, i) => {
    if (typeof c === 'string') throw new AuthRejectedError('malformed', `request certificate #${i + 1} is text, expected bytes`);
    return new Uint8Array(c);
  });
  return { publicKey, certificates, timestamp: Number(ts), nonce, signature, target };
}

/**
 * Checks the caller's signature over (path, timestamp, nonce, messageHash,
 * caller key, `serverKey`): the request must have been signed for this server.
 * @throws AuthRejectedError 'wrong-target' when the request names another
 *   server, 'bad-signature' when it does not verify.
 */
export function verifyRequestSignature(creds: RequestCredentials, serverKey: Uint8Array, path: string, messageHash: Uint8Array): void {
  if (!bytesEqual(creds.target, serverKey)) {
    throw new AuthRejectedError(
      'wrong-target',
      `request by ${shortKey(creds.publicKey)} for ${path} was signed for server ${shortKey(creds.target)}, not this server (${shortKey(serverKey)}): replayed at another server, or the caller has the wrong address`,
    );
  }
  const digest = requestDigest(path, creds.timestamp, creds.nonce, messageHash, creds.publicKey, serverKey);
  if (!verify(creds.signature, digest, creds.publicKey)) {
    throw new AuthRejectedError(
      'bad-signature',
      `bad request signature by ${shortKey(creds.publicKey)} for ${path} (signature, timestamp, nonce, target or message altered)`,
    );
  }
}
