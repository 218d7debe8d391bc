/**
 * XSalsa20 stream cipher through libsodium (sodium-native's crypto_stream_xor).
 * Measured ~25x faster than the pure-JS @stablelib/xsalsa20 on this machine with
 * identical output; the tests keep @stablelib as the independent cross-check.
 */
import sodium from 'sodium-native';
import { assertBytes } from '../errors/index.js';

export const XSALSA20_KEY_BYTES = 32;
export const XSALSA20_NONCE_BYTES = 24;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * XORs `input` with the XSalsa20 keystream for (key, nonce), starting at stream
 * position 0. Encryption and decryption are the same operation.
 * Writes into `output` when given (may alias `input`), else into a new buffer.
 */
export function xsalsa20Xor(key: Uint8Array, nonce: Uint8Array, input: Uint8Array, output?: Uint8Array): Uint8Array {
  assertBytes('key', key, XSALSA20_KEY_BYTES);
  assertBytes('nonce', nonce, XSALSA20_NONCE_BYTES);
  const out = output ?? new Uint8Array(input.length);
  if (out.length !== input.length) {
    assertBytes('output', out, input.length);
  }
  if (input.length > 0) {
    sodium.crypto_stream_xor(asBuffer(out), asBuffer(input), asBuffer(nonce), asBuffer(key));
  }
  return out;
}
