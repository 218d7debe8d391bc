import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../libs/errors/index.js';
import { toVerifyCap } from '../../../libs/caps/index.js';
import {
  SegmentStreamChecker,
  blockRange,
  ciphertextProofRanges,
  decodeSegment,
  decryptSegment,
  uebRange,
  parseShareHeader,
  SHARE_HEADER_BYTES,
} from '../../../libs/format/index.js';
import { encodeFile, patternBytes, readRanges } from './helpers.js';

const SEG = 256;
const KEY = patternBytes(32, 7);
const PLAINTEXT = patternBytes(4 * SEG + 10, 9);
const FILE = encodeFile(PLAINTEXT, { k: 3, n: 5, segmentSize: SEG }, KEY);
const { layout } = FILE;
const VCAP = toVerifyCap(FILE.cap);
const share0 = FILE.shares[0]!;
const uebBytes = readRanges(share0, [uebRange(parseShareHeader(share0.slice(0, SHARE_HEADER_BYTES)))])[0]!;

function segment(i: number): { index: number; ciphertext: Uint8Array; proof: Uint8Array[] } {
  const blocks = FILE.shares.map((s) => readRanges(s, [blockRange(layout, i)])[0]!);
  return { index: i, ciphertext: decodeSegment(layout, i, blocks), proof: readRanges(share0, ciphertextProofRanges(layout, i)) };
}

describe('SegmentStreamChecker', () => {
  it('accepts the UEB and then exactly the segments of the range, which decrypt to the plaintext', () => {
    const range = { offset: SEG - 1, length: 2 * SEG + 2 }; // segments 0..3
    const checker = new SegmentStreamChecker(VCAP, range);
    expect(checker.accept({ ueb: uebBytes }).kind).toBe('ueb');
    const out: Uint8Array[] = [];
    for (let i = 0; i <= 3; i++) {
      const got = checker.accept({ segment: segment(i) });
      expect(got.kind).toBe('segment');
      if (got.kind === 'segment') out.push(decryptSegment(KEY, got.index, got.ciphertext));
    }
    expect(checker.complete).toBe(true);
    expect(() => checker.assertComplete()).not.toThrow();
    expect(Buffer.concat(out)).toEqual(Buffer.from(PLAINTEXT.subarray(0, 4 * SEG)));
  });

  it('rejects a UEB that does not hash to the cap', () => {
    const bad = Uint8Array.from(uebBytes);
    bad[bad.length - 1]! ^= 1;
    expect(() => new SegmentStreamChecker(VCAP, { offset: 0, length: PLAINTEXT.length }).accept({ ueb: bad })).toThrow(IntegrityError);
  });

  it('rejects a segment before the UEB, out of order, past the range, or with a flipped byte', () => {
    const checker = new SegmentStreamChecker(VCAP, { offset: 0, length: SEG });
    expect(() => checker.accept({ segment: segment(0) })).toThrow(/before the UEB/);
    checker.accept({ ueb: uebBytes });
    expect(() => checker.accept({ segment: segment(1) })).toThrow(/segment 0 was expected/);
    const corrupt = segment(0);
    corrupt.ciphertext = Uint8Array.from(corrupt.ciphertext);
    corrupt.ciphertext[5]! ^= 0x10;
    expect(() => checker.accept({ segment: corrupt })).toThrow(IntegrityError);
    expect(checker.nextIndex).toBe(0); // a rejected chunk is not consumed
    checker.accept({ segment: segment(0) });
    expect(() => checker.accept({ segment: segment(1) })).toThrow(/after the last one/);
  });

  it('reports a stream that ended early', () => {
    const checker = new SegmentStreamChecker(VCAP, { offset: 0, length: PLAINTEXT.length });
    expect(() => checker.assertComplete()).toThrow(/before its UEB/);
    checker.accept({ ueb: uebBytes });
    checker.accept({ segment: segment(0) });
    expect(() => checker.assertComplete()).toThrow(/ended at segment 1/);
  });
});
