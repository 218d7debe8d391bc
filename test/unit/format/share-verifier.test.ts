import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError, LayoutInvalidError, PreconditionError } from '../../../libs/errors/index.js';
import { ShareVerifier, blockRange } from '../../../libs/format/index.js';
import { checkShareFully, download, encodeFile, openShare, patternBytes, readRanges } from './helpers.js';

// 5 segments (tree padded to 8 leaves) and n = 5 (share tree padded to 8): every region has padding.
const SEG = 512;
const PLAINTEXT = patternBytes(4 * SEG + 100, 11);
const FILE = encodeFile(PLAINTEXT, { k: 3, n: 5, segmentSize: SEG }, patternBytes(32, 5));
const { layout } = FILE;

const REGIONS = {
  header: [0, layout.blocksOffset],
  blocks: [layout.blocksOffset, layout.blockTreeOffset],
  'block tree': [layout.blockTreeOffset, layout.shareTreeOffset],
  'share tree': [layout.shareTreeOffset, layout.ciphertextTreeOffset],
  'ciphertext tree': [layout.ciphertextTreeOffset, layout.uebOffset],
  UEB: [layout.uebOffset, layout.shareSize],
} as const;

function flipped(share: Uint8Array, bit: number): Uint8Array {
  const b = share.slice();
  b[bit >> 3]! ^= 1 << (bit & 7);
  return b;
}

const isDetection = (e: unknown): boolean => e instanceof IntegrityError || e instanceof LayoutInvalidError;

describe('tampering with a share', () => {
  for (const [name, [start, end]] of Object.entries(REGIONS)) {
    it(`detects any flipped bit in the ${name} by a full share check`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: FILE.layout.n - 1 }), fc.integer({ min: start * 8, max: end * 8 - 1 }), (shnum, bit) => {
          let caught: unknown;
          try {
            checkShareFully(flipped(FILE.shares[shnum]!, bit), FILE.cap, shnum);
          } catch (e) {
            caught = e;
          }
          expect(isDetection(caught)).toBe(true);
        }),
        { numRuns: 60 },
      );
    });

    it(`never returns wrong bytes when a share with a flipped bit in the ${name} is downloaded`, () => {
      fc.assert(
        fc.property(fc.subarray([0, 1, 2, 3, 4], { minLength: 3, maxLength: 3 }), fc.nat(2), fc.integer({ min: start * 8, max: end * 8 - 1 }), (set, which, bit) => {
          const bad = set[which]!;
          const shares = new Map(set.map((s) => [s, s === bad ? flipped(FILE.shares[s]!, bit) : FILE.shares[s]!] as const));
          try {
            expect(download(FILE.cap, shares)).toEqual(PLAINTEXT);
          } catch (e) {
            expect(isDetection(e)).toBe(true);
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('detects a truncated share', () => {
    const share = FILE.shares[0]!.subarray(0, layout.shareSize - 1);
    expect(() => download(FILE.cap, new Map([[0, share], [1, FILE.shares[1]!], [2, FILE.shares[2]!]]))).toThrow(IntegrityError);
  });
});

describe('ShareVerifier', () => {
  const { ueb } = openShare(FILE.shares[2]!, FILE.cap, 2);

  function ready(shnum: number): ShareVerifier {
    const v = new ShareVerifier(layout, ueb, shnum);
    v.acceptSetup(readRanges(FILE.shares[shnum]!, v.setupRanges()));
    return v;
  }

  it('asks for the block-tree root and log2(P(n)) share-tree nodes at setup', () => {
    const v = new ShareVerifier(layout, ueb, 2);
    expect(v.setupRanges()).toHaveLength(1 + 3);
    expect(v.setupRanges()[0]).toEqual({ offset: layout.blockTreeOffset, length: 32 });
  });

  it('asks for the block and log2(P(numSegments)) block-tree nodes per segment', () => {
    const v = new ShareVerifier(layout, ueb, 2);
    const ranges = v.segmentRanges(4);
    expect(ranges[0]).toEqual(blockRange(layout, 4));
    expect(ranges).toHaveLength(1 + 3);
  });

  it('refuses to verify blocks before setup', () => {
    const v = new ShareVerifier(layout, ueb, 2);
    expect(() => v.verifyBlock(0, readRanges(FILE.shares[2]!, v.segmentRanges(0)))).toThrow(PreconditionError);
  });

  it('rejects another share’s setup nodes', () => {
    const v = new ShareVerifier(layout, ueb, 2);
    expect(() => v.acceptSetup(readRanges(FILE.shares[3]!, v.setupRanges()))).toThrow(IntegrityError);
  });

  it('rejects another share’s block, naming share and segment', () => {
    const v = ready(2);
    expect(() => v.verifyBlock(1, readRanges(FILE.shares[3]!, v.segmentRanges(1)))).toThrow(/share 2, segment 1/);
  });

  it('rejects the block of another segment', () => {
    const v = ready(2);
    const parts = readRanges(FILE.shares[2]!, v.segmentRanges(1));
    parts[0] = readRanges(FILE.shares[2]!, [blockRange(layout, 0)])[0]!.subarray(0, parts[0]!.length);
    expect(() => v.verifyBlock(1, parts)).toThrow(IntegrityError);
  });

  it('rejects a proof with a missing or extra part', () => {
    const v = ready(2);
    const parts = readRanges(FILE.shares[2]!, v.segmentRanges(1));
    expect(() => v.verifyBlock(1, parts.slice(0, -1))).toThrow(IntegrityError);
    expect(() => v.verifyBlock(1, [...parts, new Uint8Array(32)])).toThrow(IntegrityError);
  });

  it('rejects parts that are not bytes with IntegrityError, never a TypeError', () => {
    const v = new ShareVerifier(layout, ueb, 2);
    const junk = [undefined, null, 'x', 7] as unknown as Uint8Array[];
    expect(() => v.acceptSetup(junk)).toThrow(IntegrityError);
    expect(() => v.acceptFullTrees(junk.slice(0, 3))).toThrow(IntegrityError);
    const w = ready(2);
    expect(() => w.verifyBlock(1, junk)).toThrow(IntegrityError);
    const parts = readRanges(FILE.shares[2]!, w.segmentRanges(1));
    expect(() => w.verifyBlock(1, [parts[0]!, ...junk.slice(0, parts.length - 1)])).toThrow(IntegrityError);
  });

  it('returns the verified block bytes', () => {
    const v = ready(2);
    const [r] = v.segmentRanges(3);
    expect(v.verifyBlock(3, readRanges(FILE.shares[2]!, v.segmentRanges(3)))).toEqual(FILE.shares[2]!.slice(r!.offset, r!.offset + r!.length));
  });
});
