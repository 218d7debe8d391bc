/**
 * What every ciphertext-segment source yields and takes (the local
 * downloader and the gateway stream alike), so neither imports the other.
 */
import type { FileLayout, Ueb } from '../format/index.js';
import type { DownloadReport } from './segment-fetcher.js';

export interface SegmentOptions {
  /** Filled in as the download goes: corrupt shares found, servers that did not answer. */
  report?: DownloadReport;
  /** Server names to try first (e.g. nearby servers; tests use it to aim at a given copy). */
  prefer?: readonly string[];
  /** Segments read per ReadShare call (default: downloader.ts segmentsPerRead, 4 for 1 MiB segments); the next group is read while one is consumed. */
  segmentsPerRead?: number;
  /** Called once the UEB is verified, before the first segment (`uebBytes`: the UEB as stored, hashing to the cap's UEB hash). */
  onOpen?(info: { layout: FileLayout; ueb: Ueb; uebBytes: Uint8Array }): void;
}

/** A verified ciphertext segment and where its plaintext starts in the file. */
export interface CiphertextSegment {
  index: number;
  /** Plaintext offset of the segment's first byte. */
  offset: number;
  ciphertext: Uint8Array;
  /** The ciphertext-tree sibling path it verified with (libs/format ciphertextProofRanges order). */
  proof: Uint8Array[];
}

