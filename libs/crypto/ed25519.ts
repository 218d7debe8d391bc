/**
 * Ed25519 keys and signatures (RFC 8032). Every principal (server, client,
 * gateway, contact point, grid manager, clearinghouse) is identified by its
 * 32-byte public key.
 *
 * Keys and signing go through @noble/ed25519. Verification — the hot path:
 * every RPC, every presented certificate, every signed record — goes through
 * node:crypto (OpenSSL), measured here at ~0.26 ms per verify against ~1.5 ms
 * for noble (docs/architecture.md). The tests cross-check the two.
 */
import * as ed from '@noble/ed25519';
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { sha512 } from '@noble/hashes/sha2.js';
import { assertBytes } from '../errors/index.js';

// noble's synchronous API needs a SHA-512 implementation wired in once.
ed.hashes.sha512 = sha512;

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  /** 32-byte Ed25519 seed (RFC 8032 "private key"). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Generates a fresh key pair from the OS CSPRNG. */
export function generateKeyPair(): KeyPair {
  const secretKey = ed.utils.randomSecretKey();
  return { secretKey, publicKey: ed.getPublicKey(secretKey) };
}

/** Derives the key pair for a 32-byte seed. @throws InvalidArgumentError on a wrong-size seed. */
export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  assertBytes('secretKey', secretKey, SECRET_KEY_BYTES);
  return { secretKey: Uint8Array.from(secretKey), publicKey: ed.getPublicKey(secretKey) };
}

/** Signs `message` with `secretKey`; returns a 64-byte signature. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes('secretKey', secretKey, SECRET_KEY_BYTES);
  return ed.sign(message, secretKey);
}

/**
 * Verifies an Ed25519 signature. Returns false (never throws) for any malformed
 * input, so callers can treat "bad" uniformly.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    // Not a point on the curve, or otherwise unusable as a key.
    return false;
  }
}

/**
 * OpenSSL key objects of recently used public keys. Building one costs about
 * as much as the verification itself (measured: 173 µs create+verify vs
 * 81 µs with a cached key), and servers verify the same few keys (callers,
 * gateways, the clearinghouse) over and over. Bounded: cleared when full.
 */
const keyObjects = new Map<string, KeyObject>();
const MAX_KEY_OBJECTS = 4096;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex');
  let key = keyObjects.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (keyObjects.size >= MAX_KEY_OBJECTS) keyObjects.clear();
    keyObjects.set(id, key);
  }
  return key;
}

/** DER SubjectPublicKeyInfo header for a raw Ed25519 key (RFC 8410 §4): the 32 key bytes follow. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
