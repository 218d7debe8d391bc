/** Hex and base64 helpers for keys and signatures in configs and metadata. */
import { InvalidArgumentError } from '../errors/index.js';

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Parses lowercase or uppercase hex.
 * @throws InvalidArgumentError naming `what` and where the text goes wrong,
 *   but never quoting it: the value may be a secret key (a key file's or
 *   client.json's secretKey), and error messages end up in logs.
 */
export function fromHex(s: string, what = 'hex value', length?: number): Uint8Array {
  if (typeof s !== 'string') throw new InvalidArgumentError(`${what} is not hex: got ${s === null ? 'null' : typeof s}, expected a string of hex digits`);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new InvalidArgumentError(`${what} is not hex: ${hexProblem(s)}`);
  const out = new Uint8Array(Buffer.from(s, 'hex'));
  if (length !== undefined && out.length !== length) {
    throw new InvalidArgumentError(`${what} must be ${length} bytes, got ${out.length}`);
  }
  return out;
}

/** Where `s` stops being hex, without quoting any of it. */
function hexProblem(s: string): string {
  const bad = s.search(/[^0-9a-fA-F]/);
  if (bad >= 0) return `character ${bad + 1} of ${s.length} is not a hex digit (0-9, a-f)`;
  return `odd number of hex digits (${s.length})`;
}

/** First 8 hex digits of a key: safe to log, enough to tell keys apart. */
export function shortKey(publicKey: Uint8Array): string {
  return toHex(publicKey.subarray(0, 4));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
