/**
 * FileEncoder: the upload side of the format, one segment at a time.
 *
 * Order of operations for segment i (docs/format.md "Encoding"):
 *   1. ciphertext = XSalsa20(readKey, nonce(i)) XOR plaintext            (segment-cipher.ts)
 *   2. ciphertext-tree leaf i = taggedHash('intergrid:ciphertext-segment:v1', ciphertext)
 *   3. pad the ciphertext with zeros to k·B bytes (B = blockLength(i)); data block j = bytes [jB, (j+1)B)
 *   4. parity blocks k..n−1 = Reed–Solomon(k, n) over the data blocks   (libs/erasure)
 *   5. block-tree leaf i of share s = taggedHash('intergrid:block:v1', block s)
 * After the last segment, finish() builds the ciphertext tree, the n block
 * trees, the share tree over their roots and the UEB.
 *
 * Memory: O(one segment) for the blocks being returned, plus the leaves kept
 * for the trees — 32 bytes × (n + 1) × numSegments — plus, transiently in
 * finish() and trailer(), one tree of 64 × nextPowerOfTwo(numSegments) bytes.
 * Nothing grows with the file except those 32-byte leaves.
 */
import { HASH_BYTES } from '../crypto/index.js';
import { createCodec, type ErasureCodec } from '../erasure/index.js';
import { InvalidArgumentError, PreconditionError, assertBytes } from '../errors/index.js';
import { blockLength, planFile, sameLayout, segmentLength, trailerBytes, type FileLayout } from './layout.js';
import { blockHash, ciphertextSegmentHash } from './leaf-hash.js';
import { buildTree, serializeTree } from './merkle.js';
import { encryptSegment, READ_KEY_BYTES } from './segment-cipher.js';
import { encodeShareHeader } from './share-layout.js';
import { encodeUeb, hashUeb } from './ueb.js';

/** What finish() returns. */
export interface EncodedFile {
  /** The UEB hash the cap carries. */
  uebHash: Uint8Array;
  /** The UEB bytes (also the last UEB_BYTES of every trailer). */
  ueb: Uint8Array;
  /** Everything after share `shnum`'s blocks: block tree, share tree, ciphertext tree, UEB. */
  trailer(shnum: number): Uint8Array;
}

/**
 * Streams a file into n shares. Share s = shareHeader(s) ‖ (block s of every
 * segment, in order) ‖ finish().trailer(s); its length is layout.shareSize.
 * @example
 *   const enc = new FileEncoder(readKey, planFile(data.length, params));
 *   const blocks = enc.encodeSegment(data.subarray(0, params.segmentSize)); // ... every segment
 *   const { uebHash, trailer } = enc.finish();
 */
export class FileEncoder {
  private readonly codec: ErasureCodec;
  private readonly ciphertextLeaves: Uint8Array;
  private readonly blockLeaves: Uint8Array[];
  private nextSegment = 0;
  private result: EncodedFile | undefined;

  /** @throws InvalidArgumentError unless readKey is 32 bytes and layout is what planFile gives. */
  constructor(
    private readonly readKey: Uint8Array,
    readonly layout: FileLayout,
  ) {
    assertBytes('readKey', readKey, READ_KEY_BYTES);
    const planned = planFile(layout?.size, layout);
    if (!sameLayout(planned, layout) || planned.shareSize !== layout.shareSize) {
      throw new InvalidArgumentError('layout is not the result of planFile');
    }
    this.readKey = readKey.slice();
    this.layout = planned;
    this.codec = createCodec(planned.k, planned.n);
    this.ciphertextLeaves = new Uint8Array(planned.numSegments * HASH_BYTES);
    this.blockLeaves = Array.from({ length: planned.n }, () => new Uint8Array(planned.numSegments * HASH_BYTES));
  }

  /** Segments encoded so far (the index the next encodeSegment call encodes). */
  get segmentsEncoded(): number {
    return this.nextSegment;
  }

  /** The header of share `shnum` (its first SHARE_HEADER_BYTES). */
  shareHeader(shnum: number): Uint8Array {
    return encodeShareHeader(this.layout, shnum);
  }

  /**
   * Encrypts and erasure-codes the next segment. `plaintext` must be exactly
   * segmentLength(layout, i) bytes; it is not kept. Returns n fresh blocks,
   * block s for share s.
   * @throws PreconditionError when every segment was already encoded;
   *   InvalidArgumentError for a wrong plaintext length.
   */
  encodeSegment(plaintext: Uint8Array): Uint8Array[] {
    const i = this.nextSegment;
    const { k, n, numSegments } = this.layout;
    if (i >= numSegments) throw new PreconditionError(`all ${numSegments} segments are already encoded`);
    assertBytes('plaintext', plaintext);
    const len = segmentLength(this.layout, i);
    if (plaintext.length !== len) throw new InvalidArgumentError(`segment ${i} must be ${len} bytes, got ${plaintext.length}`);
    const b = blockLength(this.layout, i);
    const padded = new Uint8Array(k * b);
    const ciphertext = encryptSegment(this.readKey, i, plaintext, padded.subarray(0, len));
    this.ciphertextLeaves.set(ciphertextSegmentHash(ciphertext), i * HASH_BYTES);
    const data = Array.from({ length: k }, (_, j) => padded.subarray(j * b, (j + 1) * b));
    const blocks = [...data, ...this.codec.encode(data)];
    for (let s = 0; s < n; s++) this.blockLeaves[s]!.set(blockHash(blocks[s]!), i * HASH_BYTES);
    this.nextSegment = i + 1;
    return blocks;
  }

  /**
   * Builds the trees and the UEB once every segment is encoded (idempotent).
   * @throws PreconditionError when segments are missing.
   */
  finish(): EncodedFile {
    if (this.result) return this.result;
    const { numSegments, n } = this.layout;
    if (this.nextSegment !== numSegments) throw new PreconditionError(`finish() after ${this.nextSegment} of ${numSegments} segments`);
    const ciphertextTree = serializeTree(buildTree('ciphertext', leavesOf(this.ciphertextLeaves)));
    const blockRoots = this.blockLeaves.map((l) => buildTree('block', leavesOf(l))[0]!);
    const shareNodes = buildTree('share', blockRoots);
    const shareTree = serializeTree(shareNodes);
    const ueb = encodeUeb(this.layout, { ciphertextRoot: ciphertextTree.slice(0, HASH_BYTES), shareRoot: shareNodes[0]! });
    const total = trailerBytes(this.layout);
    const trailer = (shnum: number): Uint8Array => {
      if (!Number.isSafeInteger(shnum) || shnum < 0 || shnum >= n) throw new InvalidArgumentError(`shnum must be in [0, ${n - 1}], got ${String(shnum)}`);
      // Rebuilt per call rather than kept: holding n full block trees would double the encoder's memory.
      const blockTree = serializeTree(buildTree('block', leavesOf(this.blockLeaves[shnum]!)));
      const out = new Uint8Array(total);
      let off = 0;
      for (const part of [blockTree, shareTree, ciphertextTree, ueb]) {
        out.set(part, off);
        off += part.length;
      }
      return out;
    };
    this.result = { uebHash: hashUeb(ueb), ueb, trailer };
    return this.result;
  }
}

function leavesOf(flat: Uint8Array): Uint8Array[] {
  return Array.from({ length: flat.length / HASH_BYTES }, (_, i) => flat.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
}
