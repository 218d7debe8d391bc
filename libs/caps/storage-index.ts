/**
 * Storage index: where a file's shares live. Derived from the read key by a
 * one-way tagged hash (DESIGN.md "Storage index"), so servers can be told
 * where shares are without being able to decrypt them.
 *
 *   storageIndex = taggedHash('intergrid:storage-index:v1', readKey)[0..16)
 */
import { taggedHash } from '../crypto/index.js';
import { assertBytes, CapParseError } from '../errors/index.js';
import { fromBase32, toBase32 } from './base32.js';
import { READ_KEY_BYTES, STORAGE_INDEX_BYTES } from './types.js';

/** Hash tag for the storage index; versioned so a change is never silent. */
export const STORAGE_INDEX_TAG = 'intergrid:storage-index:v1';

/**
 * The 16-byte storage index of a 32-byte read key.
 * @throws InvalidArgumentError unless `readKey` is 32 bytes.
 * @example storageIndexFromReadKey(new Uint8Array(32)).length // 16
 */
export function storageIndexFromReadKey(readKey: Uint8Array): Uint8Array {
  assertBytes('readKey', readKey, READ_KEY_BYTES);
  return taggedHash(STORAGE_INDEX_TAG, readKey).slice(0, STORAGE_INDEX_BYTES);
}

/**
 * The 26-character lowercase base32 text of a storage index, as it appears in
 * verify-caps (handy for share directory names and logs: not secret).
 * @throws InvalidArgumentError unless `storageIndex` is 16 bytes.
 */
export function formatStorageIndex(storageIndex: Uint8Array): string {
  assertBytes('storageIndex', storageIndex, STORAGE_INDEX_BYTES);
  return toBase32(storageIndex);
}

/**
 * Parses the base32 text of a storage index (strict, as in caps).
 * @throws CapParseError naming the problem.
 */
export function parseStorageIndex(text: string): Uint8Array {
  if (typeof text !== 'string') throw new CapParseError(`storage index must be a string, got ${typeof text}`);
  return fromBase32(text, STORAGE_INDEX_BYTES, 'storage index');
}
