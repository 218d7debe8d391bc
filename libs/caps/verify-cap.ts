/**
 * Verify-caps: `URI:CHK-Verifier:<storage-index>:<ueb-hash>:<k>:<n>:<size>[:<area>]`.
 * What servers, contact points and gateways hold: enough to check every
 * block, share and ciphertext segment, never enough to decrypt.
 */
import { CapParseError, InvalidArgumentError, assertBytes } from '../errors/index.js';
import { fromBase32, toBase32 } from './base32.js';
import { VERIFY_CAP_PREFIX, assertCommon, formatCommon, parseCapText, type CapText } from './cap-text.js';
import { storageIndexFromReadKey } from './storage-index.js';
import { STORAGE_INDEX_BYTES, type Cap, type VerifyCap } from './types.js';

/**
 * Parses verify-cap text.
 * @throws CapParseError naming the problem (a read-cap is refused too, and
 *   its key is not echoed).
 */
export function parseVerifyCap(text: string): VerifyCap {
  return verifyCapFromText(parseCapText(text));
}

/** Finishes parsing split cap text as a verify-cap (shared with parseCap, which splits once). */
export function verifyCapFromText(parsed: CapText): VerifyCap {
  if (parsed.kind !== 'verify') {
    throw new CapParseError(`${parsed.quote} is a read-cap, expected a verify-cap ('${VERIFY_CAP_PREFIX}…')`);
  }
  const storageIndex = fromBase32(parsed.keyField, STORAGE_INDEX_BYTES, `${parsed.quote} storage index (field 3)`);
  return { kind: 'verify', storageIndex, ...parsed.common };
}

/**
 * Formats a verify-cap; `parseVerifyCap(formatVerifyCap(c))` equals `c`.
 * @throws InvalidArgumentError if a field is out of range.
 */
export function formatVerifyCap(cap: VerifyCap): string {
  assertBytes('cap.storageIndex', cap.storageIndex, STORAGE_INDEX_BYTES);
  assertCommon(cap);
  return `${VERIFY_CAP_PREFIX}${toBase32(cap.storageIndex)}:${formatCommon(cap)}`;
}

/**
 * Attenuates a cap to its verify-cap: a pure function of the cap (storage
 * index derived from the read key, UEB hash, k, n, size and area code kept).
 * A verify-cap is returned as an equal copy, so callers may attenuate
 * whatever they hold. The result shares no bytes with the input.
 * @throws InvalidArgumentError if `cap` is not a well-formed cap object.
 * @example formatCap(toVerifyCap(parseReadCap(s))) // 'URI:CHK-Verifier:…'
 */
export function toVerifyCap(cap: Cap): VerifyCap {
  let storageIndex: Uint8Array;
  if (cap.kind === 'read') storageIndex = storageIndexFromReadKey(cap.readKey);
  else if (cap.kind === 'verify') {
    assertBytes('cap.storageIndex', cap.storageIndex, STORAGE_INDEX_BYTES);
    storageIndex = cap.storageIndex.slice();
  } else throw new InvalidArgumentError(`cap.kind must be 'read' or 'verify', got ${JSON.stringify((cap as { kind: unknown }).kind)}`);
  assertCommon(cap);
  const out: VerifyCap = { kind: 'verify', storageIndex, uebHash: cap.uebHash.slice(), k: cap.k, n: cap.n, size: cap.size };
  if (cap.areaCode !== undefined) out.areaCode = cap.areaCode;
  return out;
}
