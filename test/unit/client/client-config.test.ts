/**
 * client.json `encoding` and libs/format validateParams share one set of
 * bounds (libs/format params.ts): a config that loads is one the encoder
 * takes, and the only value the config refuses on its own is a segment size
 * under MIN_CONFIG_SEGMENT_SIZE.
 */
import { describe, expect, it } from 'vitest';
import { encodingSchema } from '../../../libs/client/index.js';
import { MAX_CALL_BYTES } from '../../../libs/erasure/index.js';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_N, DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MAX_SHARES, MIN_CONFIG_SEGMENT_SIZE, MIN_SEGMENT_SIZE, validateParams } from '../../../libs/format/index.js';

const MIB = 1024 * 1024;
/** Largest n for k = 1 and the largest segment: n × segment ≤ one erasure call. */
const N_AT_CALL_LIMIT = MAX_CALL_BYTES / MAX_SEGMENT_SIZE;

// [what, k, n, segmentSize, accepted by validateParams, accepted by the config]
const CASES: [string, number, number, number, boolean, boolean][] = [
  ['1-of-1 at the config floor', 1, 1, MIN_CONFIG_SEGMENT_SIZE, true, true],
  ['256-of-256 at the largest segment', MAX_SHARES, MAX_SHARES, MAX_SEGMENT_SIZE, true, true],
  ['1-of-1 at the largest segment', 1, 1, MAX_SEGMENT_SIZE, true, true],
  ['the defaults', DEFAULT_K, DEFAULT_N, DEFAULT_SEGMENT_SIZE, true, true],
  ['k = 0', 0, 1, MIB, false, false],
  ['n = MAX_SHARES + 1', 1, MAX_SHARES + 1, MIB, false, false],
  ['k = MAX_SHARES + 1', MAX_SHARES + 1, MAX_SHARES + 1, MIB, false, false],
  ['n < k', 3, 2, MIB, false, false],
  ['a fractional k', 1.5, 3, MIB, false, false],
  ['segmentSize = MAX_SEGMENT_SIZE + 1', 1, 1, MAX_SEGMENT_SIZE + 1, false, false],
  ['a fractional segmentSize', 1, 1, 4096.5, false, false],
  ['one erasure call exactly (k=1, largest segment)', 1, N_AT_CALL_LIMIT, MAX_SEGMENT_SIZE, true, true],
  ['one share past one erasure call', 1, N_AT_CALL_LIMIT + 1, MAX_SEGMENT_SIZE, false, false],
  ['1-of-256 at the largest segment (over one erasure call)', 1, MAX_SHARES, MAX_SEGMENT_SIZE, false, false],
  ['segmentSize just under the config floor', 1, 1, MIN_CONFIG_SEGMENT_SIZE - 1, true, false],
  ['segmentSize = MIN_SEGMENT_SIZE', 1, 1, MIN_SEGMENT_SIZE, true, false],
  ['segmentSize = 0', 1, 1, 0, false, false],
];

const formatAccepts = (k: number, n: number, segmentSize: number): boolean => {
  try {
    validateParams({ k, n, segmentSize });
    return true;
  } catch {
    return false;
  }
};
const configAccepts = (k: number, n: number, segmentSize: number): boolean => encodingSchema.safeParse({ k, n, happy: 1, segmentSize }).success;

describe('encoding bounds: client config and validateParams', () => {
  it.each(CASES)('%s: validateParams %s, config %s', (_what, k, n, segmentSize, byFormat, byConfig) => {
    expect(formatAccepts(k, n, segmentSize)).toBe(byFormat);
    expect(configAccepts(k, n, segmentSize)).toBe(byConfig);
  });

  it('the config accepts nothing validateParams refuses, and differs from it only below MIN_CONFIG_SEGMENT_SIZE', () => {
    for (const [, k, n, segmentSize] of CASES) {
      if (configAccepts(k, n, segmentSize)) expect(formatAccepts(k, n, segmentSize)).toBe(true);
      if (segmentSize >= MIN_CONFIG_SEGMENT_SIZE) expect(configAccepts(k, n, segmentSize)).toBe(formatAccepts(k, n, segmentSize));
    }
  });

  it('names segmentSize and the erasure-call bound when the coded segment is too large', () => {
    const r = encodingSchema.safeParse({ k: 1, n: MAX_SHARES, happy: 1, segmentSize: MAX_SEGMENT_SIZE });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['segmentSize', `segmentSize ${MAX_SEGMENT_SIZE} with k=1, n=${MAX_SHARES} gives ${MAX_SHARES * MAX_SEGMENT_SIZE} coded bytes per segment, over ${MAX_CALL_BYTES}`],
    ]);
  });

  it('bounds happy by the same share count and by n', () => {
    expect(encodingSchema.safeParse({ k: 1, n: MAX_SHARES, happy: MAX_SHARES, segmentSize: MIB }).success).toBe(true);
    expect(encodingSchema.safeParse({ k: 1, n: MAX_SHARES, happy: MAX_SHARES + 1, segmentSize: MIB }).success).toBe(false);
    expect(encodingSchema.safeParse({ k: 1, n: 4, happy: 5, segmentSize: MIB }).success).toBe(false);
  });

  it('keeps the defaults (3-of-10, happy 7, 1 MiB)', () => {
    expect(encodingSchema.parse({})).toEqual({ k: DEFAULT_K, n: DEFAULT_N, happy: DEFAULT_HAPPY, segmentSize: DEFAULT_SEGMENT_SIZE });
    expect([DEFAULT_K, DEFAULT_N, DEFAULT_HAPPY, DEFAULT_SEGMENT_SIZE]).toEqual([3, 10, 7, MIB]);
  });
});
