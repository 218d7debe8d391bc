import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, LayoutInvalidError } from '../../../libs/errors/index.js';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_N, DEFAULT_PARAMS, DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, validateParams } from '../../../libs/format/index.js';

describe('codec parameters', () => {
  it('defaults to 3-of-10, happy 7, 1 MiB segments, and the defaults are valid', () => {
    expect([DEFAULT_K, DEFAULT_N, DEFAULT_HAPPY, DEFAULT_SEGMENT_SIZE]).toEqual([3, 10, 7, 1048576]);
    expect(validateParams(DEFAULT_PARAMS)).toEqual({ k: 3, n: 10, segmentSize: 1048576 });
  });

  it('accepts the extremes 1-of-1 with 1-byte segments and 256-of-256 with the largest segment', () => {
    expect(() => validateParams({ k: 1, n: 1, segmentSize: 1 })).not.toThrow();
    expect(() => validateParams({ k: 256, n: 256, segmentSize: MAX_SEGMENT_SIZE })).not.toThrow();
  });

  it('rejects a coded segment larger than one erasure call', () => {
    expect(() => validateParams({ k: 1, n: 256, segmentSize: MAX_SEGMENT_SIZE })).toThrow(InvalidArgumentError);
  });

  it('names the bad field', () => {
    expect(() => validateParams({ k: 3, n: 2, segmentSize: 10 })).toThrow(/n must be >= k, got k=3, n=2/);
  });

  it('reports stored (untrusted) parameters as LayoutInvalidError', () => {
    expect(() => validateParams({ k: 0, n: 2, segmentSize: 10 }, true)).toThrow(LayoutInvalidError);
  });
});
