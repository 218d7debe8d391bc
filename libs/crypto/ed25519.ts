/**
 * Ed25519 keys and signatures (RFC 8032) through @noble/ed25519.
 * Every principal (server, client, gateway, contact point, grid manager,
 * clearinghouse) is identified by its 32-byte public key.
 */
import * as ed from '@noble/ed25519';
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
    return ed.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
