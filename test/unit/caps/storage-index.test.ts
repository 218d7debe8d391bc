import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatStorageIndex,
  parseStorageIndex,
  STORAGE_INDEX_TAG,
  storageIndexFromReadKey,
} from '../../../libs/caps/index.js';
import { CapParseError, InvalidArgumentError } from '../../../libs/errors/index.js';

/** Independent implementation from the documented formula, straight on node:crypto. */
function referenceStorageIndex(readKey: Uint8Array): Uint8Array {
  const tag = Buffer.from(STORAGE_INDEX_TAG, 'utf8');
  const h = createHash('sha256').update(`${tag.length}:`).update(tag).update(',').update(readKey).digest();
  return new Uint8Array(h.subarray(0, 16));
}

describe('storageIndexFromReadKey', () => {
  it('uses the versioned tag of the contract', () => {
    expect(STORAGE_INDEX_TAG).toBe('intergrid:storage-index:v1');
  });

  it('is SHA-256(netstring(tag) || readKey) truncated to 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        expect(storageIndexFromReadKey(key)).toEqual(referenceStorageIndex(key));
      }),
    );
  });

  it('refuses a read key that is not 32 bytes', () => {
    expect(() => storageIndexFromReadKey(new Uint8Array(31))).toThrow(InvalidArgumentError);
    expect(() => storageIndexFromReadKey(new Uint8Array(33))).toThrow(InvalidArgumentError);
  });
});

describe('formatStorageIndex / parseStorageIndex', () => {
  it('round-trips 16-byte storage indexes through 26 lowercase characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (si) => {
        const text = formatStorageIndex(si);
        expect(text).toMatch(/^[a-z2-7]{26}$/);
        expect(parseStorageIndex(text)).toEqual(si);
      }),
    );
  });

  it('refuses malformed storage-index text with CapParseError', () => {
    expect(() => parseStorageIndex('')).toThrow(CapParseError);
    expect(() => parseStorageIndex('a'.repeat(25))).toThrow(/storage index has 25 base32 characters/);
    expect(() => parseStorageIndex('A'.repeat(26))).toThrow(/uppercase/);
  });

  it('refuses to format a storage index that is not 16 bytes', () => {
    expect(() => formatStorageIndex(new Uint8Array(32))).toThrow(InvalidArgumentError);
  });
});
