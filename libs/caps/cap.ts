/**
 * Either kind of cap: parsing by prefix, formatting, and the area-code
 * questions a client and its gateway ask (DESIGN.md "Caps", "Long-distance").
 */
import { InvalidArgumentError, assertBytes } from '../errors/index.js';
import { assertAreaCode } from './area-code.js';
import { parseCapText } from './cap-text.js';
import { formatReadCap, readCapFromText } from './read-cap.js';
import { storageIndexFromReadKey } from './storage-index.js';
import { STORAGE_INDEX_BYTES, type Cap } from './types.js';
import { formatVerifyCap, verifyCapFromText } from './verify-cap.js';

/**
 * Parses a read-cap or a verify-cap, chosen by its prefix.
 * @throws CapParseError whose message names the problem (wrong prefix, field
 *   count, bad base32, wrong length, out-of-range number, bad area code,
 *   whitespace, …) and never contains a read key.
 * @example parseCap('URI:CHK-Verifier:…:3:10:1024:212').areaCode // '212'
 */
export function parseCap(text: string): Cap {
  const parsed = parseCapText(text);
  return parsed.kind === 'read' ? readCapFromText(parsed) : verifyCapFromText(parsed);
}

/**
 * The canonical text of a cap: `formatCap(parseCap(s)) === s` for every valid `s`.
 * @throws InvalidArgumentError if a field is out of range.
 */
export function formatCap(cap: Cap): string {
  if (cap?.kind === 'read') return formatReadCap(cap);
  if (cap?.kind === 'verify') return formatVerifyCap(cap);
  throw new InvalidArgumentError(`cap.kind must be 'read' or 'verify', got ${JSON.stringify((cap as { kind?: unknown })?.kind)}`);
}

/** The storage index of either kind of cap (derived for a read-cap). */
export function capStorageIndex(cap: Cap): Uint8Array {
  if (cap.kind === 'read') return storageIndexFromReadKey(cap.readKey);
  assertBytes('cap.storageIndex', cap.storageIndex, STORAGE_INDEX_BYTES);
  return cap.storageIndex.slice();
}

/**
 * True when the cap names another grid: it has an area code and that code
 * differs from `homeAreaCode`. A cap without an area code is local.
 * @throws InvalidArgumentError unless `homeAreaCode` is a well-formed area code.
 */
export function isLongDistance(cap: Cap, homeAreaCode: string): boolean {
  assertAreaCode('homeAreaCode', homeAreaCode);
  return cap.areaCode !== undefined && cap.areaCode !== homeAreaCode;
}

/**
 * A copy of `cap` with its area code set to `code`, or removed when `code` is
 * undefined (the input is not modified; byte fields are copied).
 * @throws InvalidArgumentError unless `code` is a well-formed area code or undefined.
 */
export function withAreaCode<T extends Cap>(cap: T, code: string | undefined): T {
  if (code !== undefined) assertAreaCode('code', code);
  const out: Cap =
    cap.kind === 'read'
      ? { ...cap, readKey: cap.readKey.slice(), uebHash: cap.uebHash.slice() }
      : { ...cap, storageIndex: cap.storageIndex.slice(), uebHash: cap.uebHash.slice() };
  if (code === undefined) delete out.areaCode;
  else out.areaCode = code;
  return out as T;
}
