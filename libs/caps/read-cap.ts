/**
 * Read-caps: `URI:CHK:<readkey>:<ueb-hash>:<k>:<n>:<size>[:<area>]`.
 * The only cap that can decrypt; only the client ever holds one.
 */
import { CapParseError, assertBytes } from '../errors/index.js';
import { fromBase32, toBase32 } from './base32.js';
import { READ_CAP_PREFIX, assertCommon, formatCommon, parseCapText, type CapText } from './cap-text.js';
import { READ_KEY_BYTES, type ReadCap } from './types.js';

/**
 * Parses read-cap text.
 * @throws CapParseError naming the problem (a verify-cap is refused too); the
 *   message never contains the read key.
 * @example parseReadCap('URI:CHK:aaaa…:bbbb…:3:10:1024').k // 3
 */
export function parseReadCap(text: string): ReadCap {
  return readCapFromText(parseCapText(text));
}

/** Finishes parsing split cap text as a read-cap (shared with parseCap, which splits once). */
export function readCapFromText(parsed: CapText): ReadCap {
  if (parsed.kind !== 'read') {
    throw new CapParseError(`${parsed.quote} is a verify-cap, expected a read-cap ('${READ_CAP_PREFIX}…')`);
  }
  const readKey = fromBase32(parsed.keyField, READ_KEY_BYTES, `${parsed.quote} read key (field 3)`);
  return { kind: 'read', readKey, ...parsed.common };
}

/**
 * Formats a read-cap; `parseReadCap(formatReadCap(c))` equals `c`.
 * @throws InvalidArgumentError if a field is out of range (wrong byte length, k > n, …).
 */
export function formatReadCap(cap: ReadCap): string {
  assertBytes('cap.readKey', cap.readKey, READ_KEY_BYTES);
  assertCommon(cap);
  return `${READ_CAP_PREFIX}${toBase32(cap.readKey)}:${formatCommon(cap)}`;
}
