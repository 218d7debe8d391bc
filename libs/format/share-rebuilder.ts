/**
 * ShareRebuilder: the repair side of the format. From the verified
 * ciphertext of every segment (no read key) and the file's stored UEB, it
 * re-encodes all n blocks of each segment and, at the end, the trailers.
 * Because the erasure code and the trees are deterministic, a rebuilt share
 * is byte-identical to the one the uploader wrote; finish() proves it: the
 * rebuilt ciphertext root and share root (over all n block trees) must be
 * the UEB's, or nothing rebuilt may be acknowledged.
 */
import { bytesEqual } from '../crypto/index.js';
import { IntegrityError, InvalidArgumentError } from '../errors/index.js';
import { BlockEncoder, shareTrailer } from './block-encoder.js';
import { segmentLength, type FileLayout } from './layout.js';
import { encodeShareHeader } from './share-layout.js';
import type { Ueb } from './ueb.js';

export class ShareRebuilder {
  private readonly blocks: BlockEncoder;

  /** `ueb`/`uebBytes`: the file's UEB, already opened against its cap; `layout` = layoutFromUeb(ueb). */
  constructor(
    readonly layout: FileLayout,
    private readonly ueb: Ueb,
    private readonly uebBytes: Uint8Array,
  ) {
    this.blocks = new BlockEncoder(layout);
  }

  shareHeader(shnum: number): Uint8Array {
    return encodeShareHeader(this.layout, shnum);
  }

  /** Segments encoded so far. */
  get segmentsEncoded(): number {
    return this.blocks.segmentsEncoded;
  }

  /** The n blocks of the next segment, from its ciphertext. @throws InvalidArgumentError for a wrong length. */
  encodeCiphertext(ciphertext: Uint8Array): Uint8Array[] {
    const i = this.blocks.segmentsEncoded;
    const len = i < this.layout.numSegments ? segmentLength(this.layout, i) : 0;
    if (ciphertext.length !== len) throw new InvalidArgumentError(`segment ${i} must be ${len} bytes of ciphertext, got ${ciphertext.length}`);
    const padded = this.blocks.paddedBuffer(i);
    padded.set(ciphertext);
    return this.blocks.encode(padded);
  }

  /**
   * The trailers, once every segment is encoded.
   * @throws IntegrityError when the rebuilt trees are not the UEB's (the
   *   rebuilt shares would not be the file's).
   */
  finish(): { trailer(shnum: number): Uint8Array } {
    const trees = this.blocks.trees();
    if (!bytesEqual(trees.ciphertextRoot, this.ueb.ciphertextRoot)) throw new IntegrityError('rebuilt ciphertext tree does not match the UEB: shares not rebuilt');
    if (!bytesEqual(trees.shareRoot, this.ueb.shareRoot)) throw new IntegrityError('rebuilt share tree does not match the UEB: shares not rebuilt');
    return { trailer: (shnum) => shareTrailer(trees, this.uebBytes, shnum) };
  }
}
