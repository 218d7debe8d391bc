import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { planFile, segmentsForRange } from '../../../libs/format/index.js';

describe('segmentsForRange', () => {
  const l = planFile(3000, { k: 3, n: 10, segmentSize: 1024 });

  it.each([
    [0, 3000, 0, 2],
    [0, 1, 0, 0],
    [1023, 1, 0, 0],
    [1023, 2, 0, 1],
    [1024, 1024, 1, 1],
    [2999, 1, 2, 2],
    [1000, 100, 0, 1],
  ])('maps [%i, +%i) to segments %i..%i', (offset, length, first, last) => {
    expect(segmentsForRange(l, offset, length)).toEqual({ first, last });
  });

  it('covers no segment for a zero-length range', () => {
    const span = segmentsForRange(l, 1500, 0);
    expect(span.last).toBe(span.first - 1);
    expect(segmentsForRange(planFile(0, { k: 3, n: 10, segmentSize: 1024 }), 0, 0)).toEqual({ first: 0, last: -1 });
  });

  it('rejects a range past the end of the file', () => {
    expect(() => segmentsForRange(l, 2999, 2)).toThrow(InvalidArgumentError);
    expect(() => segmentsForRange(l, -1, 2)).toThrow(InvalidArgumentError);
  });

  it('returns exactly the segments that overlap the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), (a, b) => {
        const [offset, end] = a <= b ? [a, b] : [b, a];
        const { first, last } = segmentsForRange(l, offset, end - offset);
        for (let i = 0; i < l.numSegments; i++) {
          const overlaps = end > offset && i * 1024 < end && (i + 1) * 1024 > offset;
          expect(i >= first && i <= last).toBe(overlaps);
        }
      }),
    );
  });
});
