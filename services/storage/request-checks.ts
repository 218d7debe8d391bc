/**
 * Validation of Storage RPC inputs. Every check throws InvalidArgumentError
 * naming the field and the value (mapped to INVALID_ARGUMENT by libs/rpc).
 */
import { InvalidArgumentError, describe } from '../../libs/errors/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { MAX_SHARES, STORAGE_INDEX_BYTES } from '../../libs/caps/index.js';
import type { ByteRange } from '../../libs/format/index.js';

/** Share numbers are 0..n-1 of a file, n <= MAX_SHARES (libs/erasure). */
export const MAX_SHARE_NUMBER = MAX_SHARES - 1;
/** Ranges per ReadShare call: enough for any CHK read plan, small enough to bound the work of one call. */
export const MAX_READ_RANGES = 4096;
export const MAX_REASON_CHARS = 1024;

/** Checks a storage index and returns it as lowercase hex. */
export function checkStorageIndex(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`storage_index must be bytes, got ${describe(value)}`);
  if (value.length !== STORAGE_INDEX_BYTES) {
    throw new InvalidArgumentError(`storage_index must be ${STORAGE_INDEX_BYTES} bytes, got ${value.length}`);
  }
  return toHex(value);
}

export function checkShareNumber(value: unknown, field = 'share_number'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SHARE_NUMBER) {
    throw new InvalidArgumentError(`${field} must be an integer in [0, ${MAX_SHARE_NUMBER}], got ${String(value)}`);
  }
  return value;
}

/** Share numbers: each in 0..255, no duplicates; at least one unless `allowEmpty`. */
export function checkShareNumbers(value: unknown, allowEmpty = false): number[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError('share_numbers must be a list');
  if (value.length === 0 && !allowEmpty) throw new InvalidArgumentError('share_numbers must not be empty');
  if (value.length > MAX_SHARE_NUMBER + 1) {
    throw new InvalidArgumentError(`share_numbers has ${value.length} entries, at most ${MAX_SHARE_NUMBER + 1} allowed`);
  }
  const seen = new Set<number>();
  for (const v of value) {
    const n = checkShareNumber(v, 'share_numbers entry');
    if (seen.has(n)) throw new InvalidArgumentError(`share_numbers lists share ${n} twice`);
    seen.add(n);
  }
  return [...seen];
}

/** A share size in [1, maxShareBytes]. */
export function checkShareSize(value: unknown, maxShareBytes: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`share_size must be a positive integer, got ${String(value)}`);
  }
  if (value > maxShareBytes) {
    throw new InvalidArgumentError(`share_size ${value} exceeds this server's maximum share size of ${maxShareBytes} bytes`);
  }
  return value;
}


/**
 * Ranges of a read: 1..MAX_READ_RANGES, each within [0, shareSize]. A
 * zero-length range is allowed (it yields one empty chunk).
 */
export function checkRanges(value: unknown, shareSize: number, label: string): ByteRange[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError('ranges must list at least one byte range');
  if (value.length > MAX_READ_RANGES) {
    throw new InvalidArgumentError(`ranges has ${value.length} entries, at most ${MAX_READ_RANGES} allowed`);
  }
  return value.map((r: { offset?: unknown; length?: unknown }, i) => {
    const offset = r?.offset;
    const length = r?.length;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidArgumentError(`ranges[${i}].offset must be a non-negative integer, got ${String(offset)}`);
    }
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError(`ranges[${i}].length must be a non-negative integer, got ${String(length)}`);
    }
    if (offset + length > shareSize) {
      throw new InvalidArgumentError(`ranges[${i}] [${offset}, ${offset + length}) is outside ${label} of ${shareSize} bytes`);
    }
    return { offset, length };
  });
}

export function checkReason(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError('reason must be a string');
  if (value.length > MAX_REASON_CHARS) {
    throw new InvalidArgumentError(`reason is ${value.length} characters, at most ${MAX_REASON_CHARS} allowed`);
  }
  return value;
}
