/**
 * The shared text grammar of both caps (docs/caps.md has the long form):
 *
 *   read-cap   = "URI:CHK:" readkey ":" common
 *   verify-cap = "URI:CHK-Verifier:" storage-index ":" common
 *   common     = ueb-hash ":" k ":" n ":" size [ ":" area-code ]
 *
 * Parsing is strict so that every cap has exactly one text: no whitespace,
 * no case folding, no padding, no leading zeros, no non-canonical base32.
 * Error messages quote only the cap's prefix ('URI:CHK:…'), never its fields,
 * because the text may hold a read key and messages end up in logs.
 */
import { CapParseError, InvalidArgumentError, assertBytes, assertInt } from '../errors/index.js';
import { areaCodeProblem, assertAreaCode } from './area-code.js';
import { fromBase32, toBase32 } from './base32.js';
import { MAX_FILE_SIZE, MAX_SHARES, UEB_HASH_BYTES, type Cap, type CapCommon } from './types.js';

export const READ_CAP_PREFIX = 'URI:CHK:';
export const VERIFY_CAP_PREFIX = 'URI:CHK-Verifier:';

/**
 * Longer than any valid cap (the longest, a read-cap with an 8-digit area code
 * and a 16-digit size, is 147 characters); a cheap bound before any splitting.
 */
const MAX_CAP_TEXT = 1024;

/** A cap's text split into its kind, secret-or-index field and decoded common fields. */
export interface CapText {
  kind: Cap['kind'];
  /** Field 3: the read key (read-cap) or storage index (verify-cap), still base32. */
  keyField: string;
  common: CapCommon;
  /** The redacted quote used in error messages, e.g. `'URI:CHK:…'`. */
  quote: string;
}

/**
 * A quote of cap text that is safe in messages and logs: the recognised prefix
 * followed by '…', or at most the first 8 characters of anything else (a read
 * key is 52 characters, so no more than 8 of its characters ever appear).
 */
export function quoteCap(text: string): string {
  if (text.startsWith(VERIFY_CAP_PREFIX)) return `'${VERIFY_CAP_PREFIX}…'`;
  if (text.startsWith(READ_CAP_PREFIX)) return `'${READ_CAP_PREFIX}…'`;
  const chars = Array.from(text.slice(0, 16));
  const head = JSON.stringify(chars.slice(0, 8).join('')).slice(1, -1);
  return `'${head}${chars.length > 8 ? '…' : ''}'`;
}

/**
 * Splits and checks everything but field 3 (whose meaning depends on the kind).
 * @throws CapParseError naming the first problem found.
 */
export function parseCapText(text: unknown): CapText {
  if (typeof text !== 'string') throw new CapParseError(`cap must be a string, got ${text === null ? 'null' : typeof text}`);
  if (text.length === 0) throw new CapParseError('cap is empty');
  if (text.length > MAX_CAP_TEXT) {
    throw new CapParseError(`cap ${quoteCap(text)} is ${text.length} characters, longer than any valid cap`);
  }
  const quote = quoteCap(text.trimStart());
  if (/^\s/.test(text)) throw new CapParseError(`cap ${quote} has leading whitespace`);
  if (/\s$/.test(text)) throw new CapParseError(`cap ${quote} has trailing whitespace`);

  let kind: Cap['kind'];
  if (text.startsWith(READ_CAP_PREFIX)) kind = 'read';
  else if (text.startsWith(VERIFY_CAP_PREFIX)) kind = 'verify';
  else {
    const upper = text.toUpperCase();
    const hint =
      upper.startsWith(READ_CAP_PREFIX) || upper.startsWith(VERIFY_CAP_PREFIX.toUpperCase())
        ? ' (prefixes are case-sensitive)'
        : '';
    throw new CapParseError(`cap ${quote} has the wrong prefix, expected '${READ_CAP_PREFIX}' or '${VERIFY_CAP_PREFIX}'${hint}`);
  }

  const fields = text.split(':');
  if (fields.length !== 7 && fields.length !== 8) {
    throw new CapParseError(`${quote} has ${fields.length} fields, expected 7 or 8`);
  }
  const [, , keyField, uebField, kField, nField, sizeField, areaField] = fields as [
    string, string, string, string, string, string, string, string | undefined,
  ];

  const uebHash = fromBase32(uebField, UEB_HASH_BYTES, `${quote} UEB hash (field 4)`);
  const k = parseDecimal(kField, `${quote} k (field 5)`, 1, MAX_SHARES, `out of range 1..${MAX_SHARES}`);
  const n = parseDecimal(nField, `${quote} n (field 6)`, 1, MAX_SHARES, `out of range 1..${MAX_SHARES}`);
  if (k > n) throw new CapParseError(`${quote} has k ${k} greater than n ${n}`);
  const size = parseDecimal(sizeField, `${quote} size (field 7)`, 0, MAX_FILE_SIZE, 'greater than 2^53-1');
  const common: CapCommon = { uebHash, k, n, size };
  if (areaField !== undefined) {
    const problem = areaCodeProblem(areaField);
    if (problem) throw new CapParseError(`${quote} area code (field 8) ${safeValue(areaField)}${problem}`);
    common.areaCode = areaField;
  }
  return { kind, keyField, common, quote };
}

/**
 * Parses a canonical decimal: ASCII digits, no sign, no leading zero (so each
 * number has one text), at most 16 digits before converting (2^53 has 16), so
 * the conversion is exact.
 */
function parseDecimal(text: string, what: string, min: number, max: number, rangeProblem: string): number {
  if (text.length === 0) throw new CapParseError(`${what} is empty`);
  if (!/^[0-9]+$/.test(text)) throw new CapParseError(`${what} ${safeValue(text)}is not a decimal integer`);
  if (text.length > 1 && text[0] === '0') throw new CapParseError(`${what} ${safeValue(text)}has a leading zero`);
  const value = text.length > 16 ? Infinity : Number(text);
  if (value < min || value > max) throw new CapParseError(`${what} ${safeValue(text)}is ${rangeProblem}`);
  return value;
}

/** A field value quoted for a message, truncated: only for non-secret fields. */
function safeValue(text: string): string {
  const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
  return `${JSON.stringify(shown)} `;
}

/** Formats the fields after field 3: `ueb:k:n:size[:area]`. */
export function formatCommon(cap: CapCommon): string {
  const tail = `${toBase32(cap.uebHash)}:${cap.k}:${cap.n}:${cap.size}`;
  return cap.areaCode === undefined ? tail : `${tail}:${cap.areaCode}`;
}

/**
 * Checks a cap object's common fields before formatting, so formatCap never
 * writes a text that parseCap would refuse.
 * @throws InvalidArgumentError naming the field.
 */
export function assertCommon(cap: CapCommon): void {
  assertBytes('cap.uebHash', cap.uebHash, UEB_HASH_BYTES);
  assertInt('cap.k', cap.k, 1, MAX_SHARES);
  assertInt('cap.n', cap.n, 1, MAX_SHARES);
  if (cap.k > cap.n) throw new InvalidArgumentError(`cap.k ${cap.k} must not exceed cap.n ${cap.n}`);
  assertInt('cap.size', cap.size, 0, MAX_FILE_SIZE);
  if (cap.areaCode !== undefined) assertAreaCode('cap.areaCode', cap.areaCode);
}
