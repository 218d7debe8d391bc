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
import { InvalidArgumentError, PreconditionError, assertBytes } from '../errors/index.js';
import { BlockEncoder, shareTrailer } from './block-encoder.js';
import { planFile, sameLayout, segmentLength, type FileLayout } from './layout.js';
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
  private readonly blocks: BlockEncoder;
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
    this.blocks = new BlockEncoder(planned);
  }

  /** Segments encoded so far (the index the next encodeSegment call encodes). */
  get segmentsEncoded(): number {
    return this.blocks.segmentsEncoded;
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
    const i = this.blocks.segmentsEncoded;
    const { numSegments } = this.layout;
    if (i >= numSegments) throw new PreconditionError(`all ${numSegments} segments are already encoded`);
    assertBytes('plaintext', plaintext);
    const len = segmentLength(this.layout, i);
    if (plaintext.length !== len) throw new InvalidArgumentError(`segment ${i} must be ${len} bytes, got ${plaintext.length}`);
    const padded = this.blocks.paddedBuffer(i);
    encryptSegment(this.readKey, i, plaintext, padded.subarray(0, len));
    return this.blocks.encode(padded);
  }

  /**
   * Builds the trees and the UEB once every segment is encoded (idempotent).
   * @throws PreconditionError when segments are missing.
   */
  finish(): EncodedFile {
    if (this.result) return this.result;
    const { numSegments } = this.layout;
    if (this.blocks.segmentsEncoded !== numSegments) throw new PreconditionError(`finish() after ${this.blocks.segmentsEncoded} of ${numSegments} segments`);
    const trees = this.blocks.trees();
    const ueb = encodeUeb(this.layout, { ciphertextRoot: trees.ciphertextRoot, shareRoot: trees.shareRoot });
    this.result = { uebHash: hashUeb(ueb), ueb, trailer: (shnum) => shareTrailer(trees, ueb, shnum) };
    return this.result;
  }
}
