/**
 * Whether a share file is self-consistent: the CHK format makes every share
 * self-authenticating against the UEB hash in the cap (docs/format.md), and
 * the UEB sits at a fixed place at the end of every share, so a server that
 * has no cap can still check a share against its OWN UEB: header, UEB, the
 * three stored trees and every block must agree. A junk share planted under
 * someone's storage index (1 byte, or right-sized random bytes) fails this;
 * an honest share passes.
 *
 * Used only when two uploads of one share disagree (handlers.ts), so the
 * storage server stays format-agnostic for ordinary writes and the cost (one
 * read of the share) is paid only in a conflict.
 */
import {
  SHARE_HEADER_BYTES,
  UEB_BYTES,
  ShareVerifier,
  checkShareHeader,
  decodeUeb,
  layoutFromUeb,
  parseShareHeader,
  type ByteRange,
} from '../../libs/format/index.js';
import { readRange, type ShareReader } from './share-backend.js';

/** Trees above this size are not read whole into memory (≥ 2^19 segments): the share is then judged by header, UEB and share-tree path only. */
const FULL_TREE_LIMIT = 64 * 1024 * 1024;

/** Self-consistency of share `shnum` read through `reader`: undefined when it verifies, else what is wrong. */
export async function shareProblem(reader: ShareReader, shnum: number): Promise<string | undefined> {
  const size = reader.size;
  if (size < SHARE_HEADER_BYTES + UEB_BYTES) return `${size} bytes is shorter than any share (header ${SHARE_HEADER_BYTES} + UEB ${UEB_BYTES})`;
  const read = (r: ByteRange): Promise<Uint8Array> => readRange(reader, r.offset, r.length);
  try {
    const header = parseShareHeader(await read({ offset: 0, length: SHARE_HEADER_BYTES }));
    if (header.shareSize !== size) return `header says shareSize ${header.shareSize}, the share has ${size} bytes`;
    const ueb = decodeUeb(await read({ offset: size - UEB_BYTES, length: UEB_BYTES }));
    const layout = layoutFromUeb(ueb);
    checkShareHeader(header, layout, shnum);
    const v = new ShareVerifier(layout, ueb, shnum);
    const treeBytes = 2 * layout.segmentTreeBytes + layout.shareTreeBytes;
    if (treeBytes <= FULL_TREE_LIMIT) v.acceptFullTrees(await Promise.all(v.fullTreeRanges().map(read)));
    else v.acceptSetup(await Promise.all(v.setupRanges().map(read)));
    for (let i = 0; i < layout.numSegments; i++) v.verifyBlock(i, await Promise.all(v.segmentRanges(i).map(read)));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** True when the two shares hold the same bytes. */
export async function sameBytes(a: ShareReader, b: ShareReader): Promise<boolean> {
  if (a.size !== b.size) return false;
  const CHUNK = 1024 * 1024;
  const ba = new Uint8Array(CHUNK);
  const bb = new Uint8Array(CHUNK);
  for (let pos = 0; pos < a.size; pos += CHUNK) {
    const n = Math.min(CHUNK, a.size - pos);
    await Promise.all([readRange(a, pos, n, ba.subarray(0, n)), readRange(b, pos, n, bb.subarray(0, n))]);
    if (Buffer.compare(ba.subarray(0, n), bb.subarray(0, n)) !== 0) return false;
  }
  return true;
}

/** Runs `fn` with `open()`'s reader, closing it after. */
export async function withReader<T>(open: () => Promise<ShareReader>, fn: (r: ShareReader) => Promise<T>): Promise<T> {
  const r = await open();
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}
