import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { clampRange, planFile, rangeFromWire, rangeToWire, segmentsForRange } from '../../../libs/format/index.js';

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

describe('rangeFromWire (every Fetch / FetchSegments request)', () => {
  it('reads length 0 as "to the end"', () => {
    expect(rangeFromWire(100, 0, 1000)).toEqual({ offset: 100, length: 900 });
    expect(rangeFromWire(1000, 0, 1000)).toEqual({ offset: 1000, length: 0 });
  });

  it('clamps a range reaching past the end', () => {
    expect(rangeFromWire(900, 500, 1000)).toEqual({ offset: 900, length: 100 });
  });

  it.each([
    [1001, 0],
    [1001, 5],
    [-1, 1],
    [0.5, 1],
  ])('refuses offset %d length %d of a 1000-byte file', (offset, length) => {
    expect(() => rangeFromWire(offset, length, 1000)).toThrow(InvalidArgumentError);
  });
});

describe('clampRange and rangeToWire', () => {
  it('clamps a range reaching past the end, refuses one starting past it, reads absent as the whole file', () => {
    expect(clampRange({ offset: 10, length: 5000 }, 1000)).toEqual({ offset: 10, length: 990 });
    expect(clampRange(undefined, 1000)).toEqual({ offset: 0, length: 1000 });
    expect(clampRange({ offset: 1000, length: 0 }, 1000)).toEqual({ offset: 1000, length: 0 });
    expect(() => clampRange({ offset: 1000, length: 1 }, 1000)).toThrow(/past the end/);
    expect(() => clampRange({ offset: 1, length: -1 }, 1000)).toThrow(InvalidArgumentError);
  });

  it('sends an empty range as one that reads back empty, never as "to the end"', () => {
    expect(rangeToWire({ offset: 100, length: 0 }, 1000)).toEqual({ offset: 1000, length: 0 });
    const wire = rangeToWire({ offset: 100, length: 0 }, 1000);
    expect(rangeFromWire(wire.offset, wire.length, 1000).length).toBe(0);
  });

  it('round-trips every checked range through the wire form', () => {
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), fc.nat(5000), (size, a, b) => {
        const offset = Math.min(a, size);
        const range = clampRange({ offset, length: offset === size ? 0 : b }, size);
        const wire = rangeToWire(range, size);
        const back = rangeFromWire(wire.offset, wire.length, size);
        expect(back.length).toBe(range.length);
        if (range.length > 0) expect(back).toEqual(range);
      }),
    );
  });
});
