/**
 * Which segments hold a byte range of the file. Downloads of part of a file
 * fetch, verify and decrypt only these segments.
 */
import { InvalidArgumentError, assertInt } from '../errors/index.js';
import type { FileLayout } from './layout.js';

/** An inclusive run of segment indices; empty when last < first. */
export interface SegmentSpan {
  first: number;
  last: number;
}

/**
 * The segments covering bytes [offset, offset + length) of the file.
 * A zero-length range covers no segment: { first: s, last: s − 1 } with
 * s = the segment holding `offset` (numSegments when offset = size > 0; 0 for the empty file).
 * @throws InvalidArgumentError unless 0 ≤ offset and offset + length ≤ size.
 * @example segmentsForRange(planFile(3000, { k: 3, n: 10, segmentSize: 1024 }), 1000, 100) // { first: 0, last: 1 }
 */
export function segmentsForRange(layout: FileLayout, offset: number, length: number): SegmentSpan {
  assertInt('offset', offset, 0);
  assertInt('length', length, 0);
  if (offset + length > layout.size) {
    throw new InvalidArgumentError(`range [${offset}, ${offset + length}) extends past the end of a ${layout.size}-byte file`);
  }
  const first = layout.size === 0 ? 0 : Math.floor(offset / layout.segmentSize);
  if (length === 0) return { first, last: first - 1 };
  return { first, last: Math.floor((offset + length - 1) / layout.segmentSize) };
}
