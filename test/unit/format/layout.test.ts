import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import {
  MAX_SEGMENT_SIZE,
  SHARE_HEADER_BYTES,
  UEB_BYTES,
  blockLength,
  blockRange,
  planFile,
  segmentLength,
  treeBytes,
} from '../../../libs/format/index.js';

describe('planFile', () => {
  it('gives the empty file one empty segment and zero-length blocks', () => {
    const l = planFile(0, { k: 3, n: 10, segmentSize: 1024 });
    expect(l.numSegments).toBe(1);
    expect(l.tailSegmentSize).toBe(0);
    expect(l.tailBlockSize).toBe(0);
    expect(l.blocksBytes).toBe(0);
    expect(segmentLength(l, 0)).toBe(0);
  });

  it('puts a size that is a multiple of the segment size in full segments only', () => {
    const l = planFile(3 * 1024, { k: 3, n: 10, segmentSize: 1024 });
    expect(l.numSegments).toBe(3);
    expect(l.tailSegmentSize).toBe(1024);
    expect(l.tailBlockSize).toBe(l.blockSize);
  });

  it('follows the documented offset formulas for any size and codec', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 << 24 }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 1 << 16 }),
        (size, a, b, segmentSize) => {
          const [k, n] = a <= b ? [a, b] : [b, a];
          const l = planFile(size, { k, n, segmentSize });
          const s = Math.max(1, Math.ceil(size / segmentSize));
          expect(l.numSegments).toBe(s);
          expect((s - 1) * segmentSize + l.tailSegmentSize).toBe(size);
          expect(l.blockSize).toBe(Math.ceil(segmentSize / k));
          expect(l.tailBlockSize).toBe(Math.ceil(l.tailSegmentSize / k));
          expect(l.blocksOffset).toBe(SHARE_HEADER_BYTES);
          expect(l.blockTreeOffset).toBe(SHARE_HEADER_BYTES + (s - 1) * l.blockSize + l.tailBlockSize);
          expect(l.shareTreeOffset).toBe(l.blockTreeOffset + treeBytes(s));
          expect(l.ciphertextTreeOffset).toBe(l.shareTreeOffset + treeBytes(n));
          expect(l.uebOffset).toBe(l.ciphertextTreeOffset + treeBytes(s));
          expect(l.shareSize).toBe(l.uebOffset + UEB_BYTES);
          const last = blockRange(l, s - 1);
          expect(last.offset + last.length).toBe(l.blockTreeOffset);
          expect(blockLength(l, s - 1) * k).toBeGreaterThanOrEqual(l.tailSegmentSize);
        },
      ),
    );
  });

  it.each([
    ['k = 0', 10, { k: 0, n: 3, segmentSize: 1024 }],
    ['n < k', 10, { k: 4, n: 3, segmentSize: 1024 }],
    ['n > 256', 10, { k: 3, n: 257, segmentSize: 1024 }],
    ['segmentSize 0', 10, { k: 3, n: 10, segmentSize: 0 }],
    ['segmentSize over the maximum', 10, { k: 3, n: 10, segmentSize: MAX_SEGMENT_SIZE + 1 }],
    ['fractional k', 10, { k: 1.5, n: 3, segmentSize: 1024 }],
    ['negative size', -1, { k: 3, n: 10, segmentSize: 1024 }],
    ['fractional size', 1.5, { k: 3, n: 10, segmentSize: 1024 }],
    ['size whose shares overflow 2^53', Number.MAX_SAFE_INTEGER, { k: 1, n: 1, segmentSize: 1 << 20 }],
  ])('rejects %s with InvalidArgumentError', (_name, size, params) => {
    expect(() => planFile(size, params)).toThrow(InvalidArgumentError);
  });


  it('rejects a segment index outside the file', () => {
    const l = planFile(10, { k: 3, n: 10, segmentSize: 4 });
    expect(() => segmentLength(l, 3)).toThrow(InvalidArgumentError);
    expect(() => blockLength(l, -1)).toThrow(InvalidArgumentError);
  });
});
