import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidArgumentError, NotEnoughSharesError } from '../../../libs/errors/index.js';
import {
  ShareVerifier,
  blockHash,
  blockRange,
  buildTree,
  ciphertextProofRanges,
  decodeSegment,
  encodeUeb,
  hashUeb,
  serializeTree,
  verifyCiphertextSegment,
  type FileLayout,
} from '../../../libs/format/index.js';
import { download, encodeFile, openShare, patternBytes, readRanges } from './helpers.js';

const SEG = 300;
const KEY = patternBytes(32, 2);
const PLAINTEXT = patternBytes(3 * SEG + 7, 4);
const FILE = encodeFile(PLAINTEXT, { k: 2, n: 4, segmentSize: SEG }, KEY);
const { layout } = FILE;
const { ueb } = openShare(FILE.shares[0]!, FILE.cap, 0);

function blocksOf(i: number): Uint8Array[] {
  return FILE.shares.map((s) => readRanges(s, [blockRange(layout, i)])[0]!);
}
function ciphertextOf(i: number): Uint8Array {
  return decodeSegment(layout, i, blocksOf(i));
}
function proofOf(i: number, shnum = 0): Uint8Array[] {
  return readRanges(FILE.shares[shnum]!, ciphertextProofRanges(layout, i));
}

describe('verifyCiphertextSegment', () => {
  it('accepts every segment with its proof from any share', () => {
    for (let i = 0; i < layout.numSegments; i++) {
      for (let s = 0; s < layout.n; s++) expect(() => verifyCiphertextSegment(ueb, layout, i, ciphertextOf(i), proofOf(i, s))).not.toThrow();
    }
  });

  it('rejects a proof with a changed node', () => {
    const proof = proofOf(1);
    proof[1] = proof[1]!.slice();
    proof[1][0]! ^= 0x80;
    expect(() => verifyCiphertextSegment(ueb, layout, 1, ciphertextOf(1), proof)).toThrow(IntegrityError);
  });

  it('rejects the proof of another segment', () => {
    expect(() => verifyCiphertextSegment(ueb, layout, 1, ciphertextOf(1), proofOf(2))).toThrow(IntegrityError);
  });

  it('rejects a proof that is too short or too long', () => {
    expect(() => verifyCiphertextSegment(ueb, layout, 1, ciphertextOf(1), proofOf(1).slice(1))).toThrow(IntegrityError);
    expect(() => verifyCiphertextSegment(ueb, layout, 1, ciphertextOf(1), [...proofOf(1), new Uint8Array(32)])).toThrow(IntegrityError);
  });

  it('rejects a changed ciphertext segment, naming it', () => {
    const ct = ciphertextOf(2);
    ct[5]! ^= 1;
    expect(() => verifyCiphertextSegment(ueb, layout, 2, ct, proofOf(2))).toThrow(/ciphertext segment 2/);
  });

  it('rejects a ciphertext of the wrong length', () => {
    expect(() => verifyCiphertextSegment(ueb, layout, 3, ciphertextOf(3).subarray(1), proofOf(3))).toThrow(IntegrityError);
  });
});

describe('decodeSegment', () => {
  it('recovers the tail segment at its true length from parity blocks only', () => {
    const blocks = blocksOf(3);
    const ct = decodeSegment(layout, 3, [null, null, blocks[2]!, blocks[3]!]);
    expect(ct.length).toBe(7);
    expect(ct).toEqual(ciphertextOf(3));
  });

  it('needs k blocks', () => {
    expect(() => decodeSegment(layout, 0, [blocksOf(0)[0]!, null, null, null])).toThrow(NotEnoughSharesError);
  });

  it('rejects a block of the wrong length', () => {
    const blocks: (Uint8Array | null)[] = blocksOf(0);
    blocks[1] = blocks[1]!.subarray(1);
    expect(() => decodeSegment(layout, 0, blocks)).toThrow(InvalidArgumentError);
  });
});

describe('a malicious uploader', () => {
  // Shares that each verify against the UEB, but whose parity does not match
  // the data: the ciphertext tree is what catches it.
  function forge(): { cap: typeof FILE.cap; shares: Uint8Array[]; layout: FileLayout } {
    const shares = FILE.shares.map((s) => s.slice());
    const bad = 3;
    const r = blockRange(layout, 0);
    shares[bad]![r.offset]! ^= 0xff;
    const leaves = (s: number): Uint8Array[] =>
      Array.from({ length: layout.numSegments }, (_, i) => {
        const br = blockRange(layout, i);
        return blockHash(shares[s]!.subarray(br.offset, br.offset + br.length));
      });
    const blockTrees = shares.map((_, s) => buildTree('block', leaves(s)));
    const shareTree = buildTree('share', blockTrees.map((t) => t[0]!));
    const ctRoot = shares[0]!.slice(layout.ciphertextTreeOffset, layout.ciphertextTreeOffset + 32);
    const uebBytes = encodeUeb(layout, { ciphertextRoot: ctRoot, shareRoot: shareTree[0]! });
    shares.forEach((sh, s) => {
      sh.set(serializeTree(blockTrees[s]!), layout.blockTreeOffset);
      sh.set(serializeTree(shareTree), layout.shareTreeOffset);
      sh.set(uebBytes, layout.uebOffset);
    });
    return { cap: { ...FILE.cap, uebHash: hashUeb(uebBytes) }, shares, layout };
  }

  it('has shares that each pass block verification', () => {
    const f = forge();
    const { ueb: u } = openShare(f.shares[3]!, f.cap, 3);
    const v = new ShareVerifier(layout, u, 3);
    v.acceptSetup(readRanges(f.shares[3]!, v.setupRanges()));
    expect(() => v.verifyBlock(0, readRanges(f.shares[3]!, v.segmentRanges(0)))).not.toThrow();
  });

  it('is caught by the ciphertext tree when the bad parity is used', () => {
    const f = forge();
    expect(() => download(f.cap, new Map([[0, f.shares[0]!], [3, f.shares[3]!]]))).toThrow(/ciphertext segment 0/);
  });

  it('still yields the right file from the honest shares', () => {
    const f = forge();
    expect(download(f.cap, new Map([[0, f.shares[0]!], [1, f.shares[1]!]]))).toEqual(PLAINTEXT);
  });
});
