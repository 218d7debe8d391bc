/**
 * parseRangeHeader (services/web/range-header.ts) against RFC 9110 §14:
 * examples at the edges, and a property: for any size and any satisfiable
 * single range, written in any of its three forms, the returned
 * {offset, length} is the RFC's selection; anything unsatisfiable is 416.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseRangeHeader } from '../../../services/web/range-header.js';

const range = (offset: number, length: number) => ({ kind: 'range', range: { offset, length } });

describe('parseRangeHeader', () => {
  it('no header is the whole file', () => {
    expect(parseRangeHeader(undefined, 10)).toEqual({ kind: 'whole' });
  });

  it.each([
    ['bytes=0-0', 10, range(0, 1)],
    ['bytes=9-9', 10, range(9, 1)],
    ['bytes=3-', 10, range(3, 7)],
    ['bytes=-3', 10, range(7, 3)],
    ['bytes=-30', 10, range(0, 10)],
    ['bytes=2-99', 10, range(2, 8)],
    ['bytes=0-99999999999999999999999', 10, range(0, 10)],
    ['bytes=-99999999999999999999999', 10, range(0, 10)],
    ['Bytes=1-2', 10, range(1, 2)],
    [' bytes=1-2 ', 10, range(1, 2)],
    ['bytes=1-2,', 10, range(1, 2)],
    ['bytes=, 1-2', 10, range(1, 2)],
    ['bytes=0001-0002', 10, range(1, 2)],
    ['bytes=-5', 0, { kind: 'whole' }],
  ])('%s of a %i-byte file', (header, size, want) => {
    expect(parseRangeHeader(header, size)).toEqual(want);
  });

  it.each([
    ['bytes=10-', 10],
    ['bytes=10-20', 10],
    ['bytes=0-0', 0],
    ['bytes=0-', 0],
    ['bytes=-0', 10],
    ['bytes=5-4', 10],
    ['bytes=0-1,3-4', 10],
    ['bytes=0-1, 3-4', 10],
    ['bytes=', 10],
    ['bytes=,', 10],
    ['bytes=-', 10],
    ['bytes=a-b', 10],
    ['bytes=1 -2', 10],
    ['bytes=+1-2', 10],
    ['bytes=1.0-2', 10],
    ['bytes 1-2', 10],
    ['items=1-2', 10],
    ['=1-2', 10],
    ['', 10],
    ['bytes=' + '1'.repeat(2000) + '-', 10],
  ])('%j of a %i-byte file is unsatisfiable', (header, size) => {
    const got = parseRangeHeader(header, size);
    expect(got.kind).toBe('unsatisfiable');
    if (got.kind === 'unsatisfiable') {
      expect(got.reason.length).toBeGreaterThan(0);
      expect(got.reason.length).toBeLessThan(300);
    }
  });

  it('property: every satisfiable single range selects what RFC 9110 §14.1.2 says', () => {
    const pad = fc.nat({ max: 3 }).map((n) => '0'.repeat(n));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).chain((size) =>
          fc.record({
            size: fc.constant(size),
            first: fc.integer({ min: 0, max: size - 1 }),
            // The last position may lie anywhere at or after the first, past the end too.
            extra: fc.oneof(fc.nat({ max: 100 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
            suffix: fc.oneof(fc.integer({ min: 1, max: size }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
            form: fc.constantFrom('a-b', 'a-', '-n'),
            pad,
          }),
        ),
        ({ size, first, extra, suffix, form, pad }) => {
          let header: string;
          let offset: number;
          let length: number;
          if (form === 'a-b') {
            const last = first + extra; // may pass MAX_SAFE_INTEGER: then only "past the end" matters
            header = `bytes=${pad}${first}-${pad}${BigInt(first) + BigInt(extra)}`;
            offset = first;
            length = Math.min(last, size - 1) - first + 1;
          } else if (form === 'a-') {
            header = `bytes=${pad}${first}-`;
            offset = first;
            length = size - first;
          } else {
            header = `bytes=-${pad}${suffix}`;
            length = Math.min(suffix, size);
            offset = size - length;
          }
          const got = parseRangeHeader(header, size);
          expect(got).toEqual(range(offset, length));
          // The selection lies inside the file and is not empty.
          expect(offset + length).toBeLessThanOrEqual(size);
          expect(length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: a start at or past the end, or several ranges, is unsatisfiable', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e9 }), fc.nat({ max: 1e9 }), fc.nat({ max: 1e6 }), (size, over, len) => {
        const start = size + over;
        expect(parseRangeHeader(`bytes=${start}-`, size).kind).toBe('unsatisfiable');
        expect(parseRangeHeader(`bytes=${start}-${start + len}`, size).kind).toBe('unsatisfiable');
        expect(parseRangeHeader(`bytes=0-0,${start}-`, size + 1).kind).toBe('unsatisfiable');
      }),
    );
  });

  it('property: never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat(), (text, size) => {
        const got = parseRangeHeader(text, size);
        expect(['whole', 'range', 'unsatisfiable']).toContain(got.kind);
        if (got.kind === 'range') {
          expect(got.range.length).toBeGreaterThan(0);
          expect(got.range.offset + got.range.length).toBeLessThanOrEqual(size);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
