/**
 * Byte ranges, in one place: the `ByteRange` type (of a file or of a share),
 * the one check-and-clamp rule for a range asked of a file, the wire form
 * (length 0 = "to the end", as every Fetch/FetchSegments request carries it)
 * and which segments hold a range. Downloads of part of a file fetch, verify
 * and decrypt only those segments.
 */
import { InvalidArgumentError, assertInt } from '../errors/index.js';

/** Bytes [offset, offset + length) of a file or of one share; length 0 is empty. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** An inclusive run of segment indices; empty when last < first. */
export interface SegmentSpan {
  first: number;
  last: number;
}

/**
 * Checks a range asked of a `size`-byte file: a range starting past the end
 * is an error, one reaching past it is clamped to the end; absent = the whole file.
 * @throws InvalidArgumentError for a negative or non-integer field, or a start past the end.
 */
export function clampRange(range: ByteRange | undefined, size: number): ByteRange {
  if (!range) return { offset: 0, length: size };
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new InvalidArgumentError(`bad byte range {offset: ${offset}, length: ${length}}`);
  }
  if (offset > size || (offset === size && length > 0 && size > 0)) {
    throw new InvalidArgumentError(`byte range starts at ${offset}, past the end of the ${size}-byte file`);
  }
  return { offset, length: Math.min(length, size - offset) };
}

/**
 * A range as a request carries it (length 0 = "to the end of the file"),
 * checked and clamped against the file (clampRange).
 * @throws InvalidArgumentError as clampRange.
 */
export function rangeFromWire(offset: number, length: number, size: number): ByteRange {
  const toEnd = length === 0 && Number.isSafeInteger(offset) && offset >= 0 && offset <= size;
  return clampRange({ offset, length: toEnd ? size - offset : length }, size);
}

/**
 * A checked range of a `size`-byte file in the wire form. Length 0 reads
 * back as "to the end", so an empty range is sent as (size, 0), which reads
 * back as itself; any other range is sent as is.
 */
export function rangeToWire(range: ByteRange, size: number): ByteRange {
  return range.length === 0 ? { offset: size, length: 0 } : { offset: range.offset, length: range.length };
}

/**
 * The segments covering bytes [offset, offset + length) of the file.
 * A zero-length range covers no segment: { first: s, last: s − 1 } with
 * s = the segment holding `offset` (numSegments when offset = size > 0; 0 for the empty file).
 * @throws InvalidArgumentError unless 0 ≤ offset and offset + length ≤ size.
 * @example segmentsForRange(planFile(3000, { k: 3, n: 10, segmentSize: 1024 }), 1000, 100) // { first: 0, last: 1 }
 */
export function segmentsForRange(layout: { size: number; segmentSize: number }, offset: number, length: number): SegmentSpan {
  assertInt('offset', offset, 0);
  assertInt('length', length, 0);
  if (offset + length > layout.size) {
    throw new InvalidArgumentError(`range [${offset}, ${offset + length}) extends past the end of a ${layout.size}-byte file`);
  }
  const first = layout.size === 0 ? 0 : Math.floor(offset / layout.segmentSize);
  if (length === 0) return { first, last: first - 1 };
  return { first, last: Math.floor((offset + length - 1) / layout.segmentSize) };
}
