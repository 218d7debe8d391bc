/**
 * Segment encryption: XSalsa20 under the 32-byte read key, one keystream per
 * segment, starting at stream position 0:
 *
 *   nonce(i) = 16 zero bytes ‖ u64be(i)        (24 bytes)
 *   ciphertext_i = plaintext_i XOR XSalsa20(readKey, nonce(i))
 *
 * A (key, nonce) pair is never reused: within a file each segment index is
 * used once, and a read key belongs to exactly one file, because the storage
 * index (where the shares live) is derived from the key — a second file under
 * the same key would be a different upload of the same storage index. Random
 * keys make that impossible in practice; convergent keys hash the plaintext,
 * so the same key only ever encrypts the same plaintext (convergence.ts).
 */
import { XSALSA20_NONCE_BYTES, xsalsa20Xor } from '../crypto/index.js';
import { assertBytes, assertInt } from '../errors/index.js';

/** Bytes of a read key. */
export const READ_KEY_BYTES = 32;

/** The 24-byte nonce of segment i. */
export function segmentNonce(i: number): Uint8Array {
  assertInt('segment index', i, 0);
  const nonce = new Uint8Array(XSALSA20_NONCE_BYTES);
  new DataView(nonce.buffer).setBigUint64(16, BigInt(i));
  return nonce;
}

/**
 * Encrypts segment i (a fresh array, or into `output`, which may alias `bytes`).
 * @throws InvalidArgumentError for a key that is not 32 bytes or a bad index.
 */
export function encryptSegment(readKey: Uint8Array, i: number, bytes: Uint8Array, output?: Uint8Array): Uint8Array {
  assertBytes('readKey', readKey, READ_KEY_BYTES);
  assertBytes('segment', bytes);
  return xsalsa20Xor(readKey, segmentNonce(i), bytes, output);
}

/** Decrypts segment i; the same operation as encryptSegment. */
export function decryptSegment(readKey: Uint8Array, i: number, bytes: Uint8Array, output?: Uint8Array): Uint8Array {
  return encryptSegment(readKey, i, bytes, output);
}
