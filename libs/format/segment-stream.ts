/**
 * Checking a stream of ciphertext segments received from someone who holds
 * only the verify-cap (a contact point, a gateway): first the UEB, which must
 * hash to the cap's UEB hash, then each segment of the requested range in
 * order, each verified against the ciphertext tree before it is accepted.
 * Nothing unverified ever comes out of `accept`, so a receiver can count or
 * forward exactly what this returns.
 */
import { IntegrityError } from '../errors/index.js';
import type { ReadCap, VerifyCap } from '../caps/index.js';
import { openUeb, layoutFromUeb, type Ueb } from './ueb.js';
import type { FileLayout } from './layout.js';
import { segmentsForRange, type ByteRange } from './range.js';
import { verifyCiphertextSegment } from './segment-decoder.js';

/** One chunk as it arrives (the shape of proto SegmentChunk). */
export interface SegmentChunkInput {
  ueb?: Uint8Array;
  segment?: { index: number; ciphertext: Uint8Array; proof: Uint8Array[] } | null;
}

/** What an accepted chunk was. */
export type AcceptedChunk =
  | { kind: 'ueb'; ueb: Ueb; uebBytes: Uint8Array; layout: FileLayout }
  | { kind: 'segment'; index: number; offset: number; ciphertext: Uint8Array; proof: Uint8Array[] };

export class SegmentStreamChecker {
  private ueb?: Ueb;
  private layoutValue?: FileLayout;
  private next = 0;
  private last = -1;

  /** `range` is the plaintext byte range asked for (already clamped to the file). */
  constructor(
    private readonly cap: VerifyCap | ReadCap,
    private readonly range: ByteRange,
  ) {}

  get layout(): FileLayout | undefined {
    return this.layoutValue;
  }

  /** Index of the next segment expected (after the UEB). */
  get nextIndex(): number {
    return this.next;
  }

  /** True once the UEB and every segment of the range were accepted. */
  get complete(): boolean {
    return this.ueb !== undefined && this.next > this.last;
  }

  /**
   * Checks one chunk. @throws IntegrityError for a UEB that does not match the
   * cap, a segment out of order or outside the range, or a segment that fails
   * its proof; the chunk is then not accepted and the checker stays where it was.
   */
  accept(chunk: SegmentChunkInput): AcceptedChunk {
    if (chunk.ueb && chunk.ueb.length > 0) {
      if (this.ueb) throw new IntegrityError('a second UEB arrived in the same segment stream');
      const ueb = openUeb(chunk.ueb, this.cap);
      const layout = layoutFromUeb(ueb);
      this.ueb = ueb;
      this.layoutValue = layout;
      const span = this.range.length === 0 ? { first: 0, last: -1 } : segmentsForRange(layout, this.range.offset, this.range.length);
      this.next = span.first;
      this.last = span.last;
      return { kind: 'ueb', ueb, uebBytes: Uint8Array.from(chunk.ueb), layout };
    }
    const seg = chunk.segment;
    if (!seg) throw new IntegrityError('a segment stream chunk carried neither a UEB nor a segment');
    if (!this.ueb || !this.layoutValue) throw new IntegrityError(`segment ${seg.index} arrived before the UEB`);
    if (seg.index !== this.next || seg.index > this.last) {
      throw new IntegrityError(
        this.next > this.last ? `segment ${seg.index} arrived after the last one of the range` : `segment ${seg.index} arrived where segment ${this.next} was expected`,
      );
    }
    verifyCiphertextSegment(this.ueb, this.layoutValue, seg.index, seg.ciphertext, seg.proof);
    this.next++;
    return { kind: 'segment', index: seg.index, offset: seg.index * this.layoutValue.segmentSize, ciphertext: seg.ciphertext, proof: seg.proof };
  }

  /** @throws IntegrityError naming what is missing when the stream ended early. */
  assertComplete(): void {
    if (!this.ueb) throw new IntegrityError('the segment stream ended before its UEB');
    if (this.next <= this.last) throw new IntegrityError(`the segment stream ended at segment ${this.next}; segments up to ${this.last} were expected`);
  }
}
