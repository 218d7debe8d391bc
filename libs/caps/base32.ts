/**
 * Strict base32 for caps: RFC 4648 alphabet, lowercase, no padding, and one
 * text per byte string. @scure/base's `base32nopad` uses the uppercase table
 * and does not case-fold, so we check the lowercase text ourselves, decode its
 * uppercase form, and compare the re-encoding with the input: that rejects
 * non-canonical trailing bits (e.g. `…7` where `…q` is the only encoding), so
 * two different strings never name the same cap.
 */
import { base32nopad } from '@scure/base';
import { CapParseError } from '../errors/index.js';

const LOWER = /^[a-z2-7]*$/;

/** Characters needed for `bytes` bytes: ceil(8·bytes / 5). */
export function base32Length(bytes: number): number {
  return Math.ceil((bytes * 8) / 5);
}

/** Lowercase, unpadded RFC 4648 base32 of `bytes`. */
export function toBase32(bytes: Uint8Array): string {
  return base32nopad.encode(bytes).toLowerCase();
}

/**
 * Decodes the canonical lowercase base32 text of exactly `bytes` bytes.
 * `what` names the field in error messages. The text itself is never echoed
 * (it may be a read key): errors name the character and its position.
 * @throws CapParseError on an empty field, padding, uppercase, a character
 *   outside the alphabet, a wrong length, or non-zero trailing bits.
 */
export function fromBase32(text: string, bytes: number, what: string): Uint8Array {
  const want = base32Length(bytes);
  if (text.length === 0) throw new CapParseError(`${what} is empty, expected ${want} base32 characters`);
  if (!LOWER.test(text)) {
    const pad = text.indexOf('=');
    if (pad >= 0) throw new CapParseError(`${what} has base32 padding '=' at position ${pad}; caps are unpadded`);
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (/[a-z2-7]/.test(c)) continue;
      if (/[A-Z]/.test(c)) throw new CapParseError(`${what} has uppercase base32 character '${c}' at position ${i}; caps are lowercase`);
      throw new CapParseError(`${what} has invalid base32 character ${printable(c)} at position ${i}`);
    }
  }
  if (text.length !== want) {
    // Report the byte count the text would decode to, as well as the raw length.
    throw new CapParseError(
      `${what} has ${text.length} base32 characters (${Math.floor((text.length * 5) / 8)} bytes), expected ${want} (${bytes} bytes)`,
    );
  }
  let out: Uint8Array;
  try {
    out = base32nopad.decode(text.toUpperCase());
  } catch (e) {
    throw new CapParseError(`${what} is not canonical base32 (non-zero trailing bits)`, { cause: e });
  }
  if (out.length !== bytes || toBase32(out) !== text) {
    throw new CapParseError(`${what} is not canonical base32 (non-zero trailing bits)`);
  }
  return out;
}

/** Quotes a character for a message; control and non-ASCII characters as U+XXXX. */
function printable(c: string): string {
  const code = c.codePointAt(0)!;
  return code > 0x20 && code < 0x7f ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}
