/**
 * Download side of a segment: Reed–Solomon decode of verified blocks into the
 * ciphertext segment, and its check against the ciphertext tree in the UEB.
 * Blocks are verified per share (ShareVerifier); the ciphertext check then
 * catches an uploader whose shares are individually consistent but decode to
 * different ciphertext depending on which k are used.
 */
import { bytesEqual } from '../crypto/index.js';
import { createCodec } from '../erasure/index.js';
import { IntegrityError, InvalidArgumentError } from '../errors/index.js';
import { blockLength, nodeRange, segmentLength, type FileLayout } from './layout.js';
import type { ByteRange } from './range.js';
import { ciphertextSegmentHash } from './leaf-hash.js';
import { proofIndices, rootFromProof } from './merkle.js';
import type { Ueb } from './ueb.js';

/**
 * Sibling path of segment i in the ciphertext tree, bottom-up. Every share
 * holds the same tree, so these ranges may be read from any share.
 */
export function ciphertextProofRanges(layout: FileLayout, i: number): ByteRange[] {
  return proofIndices(i, layout.numSegments).map((j) => nodeRange(layout.ciphertextTreeOffset, j));
}

/**
 * Recovers ciphertext segment i from n slots of blocks (null = missing; at
 * least k present, each blockLength(layout, i) bytes, already verified).
 * @throws NotEnoughSharesError with fewer than k blocks; InvalidArgumentError for wrong shapes.
 */
export function decodeSegment(layout: FileLayout, i: number, blocks: readonly (Uint8Array | null)[]): Uint8Array {
  const len = segmentLength(layout, i);
  const b = blockLength(layout, i);
  if (!Array.isArray(blocks) || blocks.length !== layout.n) {
    throw new InvalidArgumentError(`decodeSegment needs ${layout.n} block slots, got ${Array.isArray(blocks) ? blocks.length : typeof blocks}`);
  }
  blocks.forEach((blk, s) => {
    if (blk !== null && (!(blk instanceof Uint8Array) || blk.length !== b)) {
      throw new InvalidArgumentError(`segment ${i}: block of share ${s} must be ${b} bytes, got ${blk instanceof Uint8Array ? blk.length : typeof blk}`);
    }
  });
  const data = createCodec(layout.k, layout.n).decode(blocks);
  const out = new Uint8Array(len);
  let off = 0;
  for (const d of data) {
    if (off >= len) break;
    const take = Math.min(d.length, len - off);
    out.set(d.subarray(0, take), off);
    off += take;
  }
  return out;
}

/**
 * Checks ciphertext segment i against the UEB's ciphertext-tree root using
 * its sibling path (the bytes of ciphertextProofRanges, in order).
 * @throws IntegrityError naming the segment.
 */
export function verifyCiphertextSegment(ueb: Ueb, layout: FileLayout, i: number, ciphertext: Uint8Array, proof: readonly Uint8Array[]): void {
  if (layout.size !== ueb.size || layout.segmentSize !== ueb.segmentSize || layout.numSegments !== ueb.numSegments) {
    throw new InvalidArgumentError('layout does not match the UEB');
  }
  const len = segmentLength(layout, i);
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== len) {
    throw new IntegrityError(`ciphertext segment ${i} is ${ciphertext instanceof Uint8Array ? ciphertext.length : typeof ciphertext} bytes, expected ${len}`);
  }
  if (!Array.isArray(proof) || proof.some((p) => !(p instanceof Uint8Array))) throw new IntegrityError(`ciphertext segment ${i}: proof must be a list of hashes`);
  const root = rootFromProof('ciphertext', i, layout.numSegments, ciphertextSegmentHash(ciphertext), proof);
  if (root === null || !bytesEqual(root, ueb.ciphertextRoot)) throw new IntegrityError(`ciphertext segment ${i} does not match the ciphertext tree`);
}
