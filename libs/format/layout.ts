/**
 * FileLayout: every size and byte offset of a CHK file's shares, computed
 * from (size, k, n, segmentSize) alone, so a share header can be written
 * before the first block and a share streamed strictly in order.
 *
 * Share byte-offset table (format version 1; docs/format.md is the long form):
 *
 *   offset                                   length                      region
 *   0                                        SHARE_HEADER_BYTES (76)     header (share-layout.ts)
 *   blocksOffset = 76                        (S−1)·blockSize + tailBlockSize   block of segment i at blocksOffset + i·blockSize
 *   blockTreeOffset                          32·(2·P(S) − 1)             this share's block tree, full
 *   shareTreeOffset                          32·(2·P(n) − 1)             share tree over the n block-tree roots, full
 *   ciphertextTreeOffset                     32·(2·P(S) − 1)             ciphertext tree over segment hashes, full
 *   uebOffset                                UEB_BYTES (106)             URI extension block (ueb.ts)
 *   shareSize = uebOffset + 106
 *
 * with S = numSegments, P(x) = smallest power of two ≥ x.
 *
 * Segments: S = max(1, ceil(size / segmentSize)). An empty file has exactly
 * one segment, of length 0, so every tree has at least one real leaf and an
 * empty file is handled by the same code path as any other (its blocks are 0
 * bytes long). Segment i has length segmentSize except the last (the tail),
 * of length tailSegmentSize = size − (S−1)·segmentSize (in [1, segmentSize],
 * or 0 for the empty file). A segment of length L is split into k blocks of
 * ceil(L/k) bytes each after zero-padding the ciphertext to k·ceil(L/k) bytes.
 */
import { HASH_BYTES } from '../crypto/index.js';
import { InvalidArgumentError, LayoutInvalidError, assertInt, type IntergridError } from '../errors/index.js';
import { treeBytes } from './merkle.js';
import { validateParams, type CodecParams } from './params.js';
import type { ByteRange } from './range.js';

/** Bytes of the fixed share header (share-layout.ts). */
export const SHARE_HEADER_BYTES = 76;
/** Bytes of the fixed URI extension block (ueb.ts). */
export const UEB_BYTES = 106;
/** Format version written in share headers and UEBs. */
export const FORMAT_VERSION = 1;


/** Every size and offset of a file's shares. All values are safe integers. */
export interface FileLayout {
  /** Plaintext (= ciphertext) size in bytes. */
  size: number;
  k: number;
  n: number;
  /** Plaintext bytes per full segment. */
  segmentSize: number;
  /** max(1, ceil(size / segmentSize)). */
  numSegments: number;
  /** Length of the last segment: size − (numSegments − 1)·segmentSize. */
  tailSegmentSize: number;
  /** Block bytes of a full segment: ceil(segmentSize / k). */
  blockSize: number;
  /** Block bytes of the last segment: ceil(tailSegmentSize / k). */
  tailBlockSize: number;
  /** Total block bytes in one share. */
  blocksBytes: number;
  /** Bytes of one block tree (and of the ciphertext tree): 32·(2·P(numSegments) − 1). */
  segmentTreeBytes: number;
  /** Bytes of the share tree: 32·(2·P(n) − 1). */
  shareTreeBytes: number;
  blocksOffset: number;
  blockTreeOffset: number;
  shareTreeOffset: number;
  ciphertextTreeOffset: number;
  uebOffset: number;
  /** Total bytes of every share. */
  shareSize: number;
}

/**
 * Plans the shares of a file of `size` bytes.
 * @throws InvalidArgumentError for bad parameters or a size whose shares would not fit in 2^53 bytes.
 */
export function planFile(size: number, params: CodecParams): FileLayout {
  return computeLayout(size, params, false);
}

/** planFile for values read from stored bytes: the same checks, as LayoutInvalidError. */
export function planStoredFile(size: number, params: CodecParams): FileLayout {
  return computeLayout(size, params, true);
}

function computeLayout(size: number, params: CodecParams, untrusted: boolean): FileLayout {
  const fail = (msg: string): IntergridError => (untrusted ? new LayoutInvalidError(msg) : new InvalidArgumentError(msg));
  const { k, n, segmentSize } = validateParams(params, untrusted);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw fail(`size must be a non-negative safe integer, got ${String(size)}`);
  const numSegments = Math.max(1, Math.ceil(size / segmentSize));
  const tailSegmentSize = size - (numSegments - 1) * segmentSize;
  const blockSize = Math.ceil(segmentSize / k);
  const tailBlockSize = Math.ceil(tailSegmentSize / k);
  const blocksBytes = (numSegments - 1) * blockSize + tailBlockSize;
  const segmentTreeBytes = treeBytes(numSegments);
  const shareTreeBytes = treeBytes(n);
  const blocksOffset = SHARE_HEADER_BYTES;
  const blockTreeOffset = blocksOffset + blocksBytes;
  const shareTreeOffset = blockTreeOffset + segmentTreeBytes;
  const ciphertextTreeOffset = shareTreeOffset + shareTreeBytes;
  const uebOffset = ciphertextTreeOffset + segmentTreeBytes;
  const shareSize = uebOffset + UEB_BYTES;
  if (!Number.isSafeInteger(shareSize)) throw fail(`a file of ${size} bytes with k=${k}, segmentSize=${segmentSize} gives shares over 2^53 bytes`);
  return {
    size,
    k,
    n,
    segmentSize,
    numSegments,
    tailSegmentSize,
    blockSize,
    tailBlockSize,
    blocksBytes,
    segmentTreeBytes,
    shareTreeBytes,
    blocksOffset,
    blockTreeOffset,
    shareTreeOffset,
    ciphertextTreeOffset,
    uebOffset,
    shareSize,
  };
}

/** Plaintext/ciphertext length of segment i. @throws InvalidArgumentError unless 0 ≤ i < numSegments. */
export function segmentLength(layout: FileLayout, i: number): number {
  checkSegment(layout, i);
  return i === layout.numSegments - 1 ? layout.tailSegmentSize : layout.segmentSize;
}

/** Byte offset of segment i in the file. */
export function segmentOffset(layout: FileLayout, i: number): number {
  checkSegment(layout, i);
  return i * layout.segmentSize;
}

/** Block length of segment i (the same in every share). */
export function blockLength(layout: FileLayout, i: number): number {
  checkSegment(layout, i);
  return i === layout.numSegments - 1 ? layout.tailBlockSize : layout.blockSize;
}

/** Where segment i's block lies in every share. */
export function blockRange(layout: FileLayout, i: number): ByteRange {
  return { offset: layout.blocksOffset + i * layout.blockSize, length: blockLength(layout, i) };
}

/** Where node `index` of a full tree starting at `treeOffset` lies. */
export function nodeRange(treeOffset: number, index: number): ByteRange {
  return { offset: treeOffset + index * HASH_BYTES, length: HASH_BYTES };
}

/** The range holding the UEB in every share of this layout. */
export function layoutUebRange(layout: FileLayout): ByteRange {
  return { offset: layout.uebOffset, length: UEB_BYTES };
}

/** Bytes of a share's trailer (trees + UEB): everything after the blocks. */
export function trailerBytes(layout: FileLayout): number {
  return layout.shareSize - layout.blockTreeOffset;
}

/** True when two layouts describe the same shares. */
export function sameLayout(a: FileLayout, b: FileLayout): boolean {
  return a.size === b.size && a.k === b.k && a.n === b.n && a.segmentSize === b.segmentSize;
}

function checkSegment(layout: FileLayout, i: number): void {
  assertInt('segment index', i, 0, layout.numSegments - 1);
}
