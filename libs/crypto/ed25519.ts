/**
 * Ed25519 keys and signatures (RFC 8032). Every principal (server, client,
 * gateway, contact point, grid manager, clearinghouse) is identified by its
 * 32-byte public key.
 *
 * Seeds come from the OS CSPRNG (@noble/ed25519's randomSecretKey). Public
 * keys, signatures and verification go through libsodium (sodium-native):
 * they are the hot path — every RPC is signed by its caller and verified by
 * its server, and so is every certificate and usage record. Measured here: a
 * verify at 46 µs against 81 µs for node:crypto (OpenSSL) with a cached key
 * object, 173 µs without, and ~1.5 ms for noble; a signature at 21 µs
 * against 345 µs for noble (docs/architecture.md). Ed25519 signatures are
 * deterministic, so both libraries give the same bytes; the tests
 * cross-check libsodium against noble.
 */
import * as ed from '@noble/ed25519';
import sodium from 'sodium-native';
import { assertBytes } from '../errors/index.js';

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  /** 32-byte Ed25519 seed (RFC 8032 "private key"). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * libsodium's 64-byte signing key (seed ‖ public key) for each seed in use,
 * so a caller signing every RPC expands its seed once.
 */
const expanded = new WeakMap<Uint8Array, Buffer>();

/** Generates a fresh key pair from the OS CSPRNG. */
export function generateKeyPair(): KeyPair {
  return keyPairFromSecret(ed.utils.randomSecretKey());
}

/** Derives the key pair for a 32-byte seed. @throws InvalidArgumentError on a wrong-size seed. */
export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  assertBytes('secretKey', secretKey, SECRET_KEY_BYTES);
  const seed = Uint8Array.from(secretKey);
  return { secretKey: seed, publicKey: expand(seed).publicKey };
}

/** The public key and libsodium's signing key of `seed`, remembered for signing. */
function expand(seed: Uint8Array): { publicKey: Uint8Array; signingKey: Buffer } {
  const publicKey = new Uint8Array(PUBLIC_KEY_BYTES);
  const signingKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(asBuffer(publicKey), signingKey, asBuffer(seed));
  expanded.set(seed, signingKey);
  return { publicKey, signingKey };
}

function signingKey(seed: Uint8Array): Buffer {
  return expanded.get(seed) ?? expand(seed).signingKey;
}

/** Signs `message` with `secretKey`; returns a 64-byte signature. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes('secretKey', secretKey, SECRET_KEY_BYTES);
  if (!(message instanceof Uint8Array)) assertBytes('message', message);
  const signature = new Uint8Array(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(asBuffer(signature), asBuffer(message), signingKey(secretKey));
  return signature;
}

/**
 * Verifies an Ed25519 signature. Returns false (never throws) for any malformed
 * input, so callers can treat "bad" uniformly.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  if (!(message instanceof Uint8Array)) return false;
  // libsodium rejects a key that is not a point on the curve (or of small
  // order) and a non-canonical signature by returning false.
  return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey));
}

/** A Buffer view of the same bytes (sodium-native takes Buffers; no copy). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
