/**
 * In-memory encode/download over the libs/format API, used by the format
 * tests. Reads go through byte ranges of whole shares, exactly as a client
 * reads a storage server (a range past the end returns short bytes).
 */
import { type ReadCap, type VerifyCap } from '../../../libs/caps/index.js';
import {
  FileEncoder,
  ShareVerifier,
  SHARE_HEADER_BYTES,
  checkShareHeader,
  ciphertextProofRanges,
  decodeSegment,
  decryptSegment,
  layoutFromUeb,
  openUeb,
  parseShareHeader,
  planFile,
  segmentLength,
  uebRange,
  verifyCiphertextSegment,
  type ByteRange,
  type CodecParams,
  type FileLayout,
  type Ueb,
} from '../../../libs/format/index.js';

export interface EncodedForTest {
  layout: FileLayout;
  shares: Uint8Array[];
  uebHash: Uint8Array;
  cap: ReadCap;
}

/** Encodes `plaintext` into n whole shares with the streaming encoder. */
export function encodeFile(plaintext: Uint8Array, params: CodecParams, readKey: Uint8Array): EncodedForTest {
  const layout = planFile(plaintext.length, params);
  const enc = new FileEncoder(readKey, layout);
  const parts: Uint8Array[][] = Array.from({ length: layout.n }, (_, s) => [enc.shareHeader(s)]);
  for (let i = 0; i < layout.numSegments; i++) {
    const start = i * layout.segmentSize;
    const blocks = enc.encodeSegment(plaintext.subarray(start, start + segmentLength(layout, i)));
    blocks.forEach((b, s) => parts[s]!.push(b));
  }
  const done = enc.finish();
  const shares = parts.map((p, s) => Buffer.concat([...p, done.trailer(s)]));
  const cap: ReadCap = { kind: 'read', readKey, uebHash: done.uebHash, k: layout.k, n: layout.n, size: layout.size };
  return { layout, shares: shares.map((b) => new Uint8Array(b)), uebHash: done.uebHash, cap };
}

export function readRanges(share: Uint8Array, ranges: readonly ByteRange[]): Uint8Array[] {
  return ranges.map((r) => share.slice(r.offset, r.offset + r.length));
}

/** Header → UEB → header check, for one share. Throws on any problem. */
export function openShare(share: Uint8Array, cap: ReadCap | VerifyCap, shnum: number): { ueb: Ueb; layout: FileLayout } {
  const header = parseShareHeader(share.slice(0, SHARE_HEADER_BYTES));
  const [uebBytes] = readRanges(share, [uebRange(header)]);
  const ueb = openUeb(uebBytes!, cap);
  const layout = layoutFromUeb(ueb);
  checkShareHeader(header, layout, shnum);
  return { ueb, layout };
}

/**
 * Downloads using exactly the given shares (map shnum → bytes, at least k),
 * with no fallback: any bad byte surfaces as the error it raised.
 */
export function download(cap: ReadCap, shares: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const entries = [...shares];
  const [firstShnum, firstShare] = entries[0]!;
  const { ueb, layout } = openShare(firstShare, cap, firstShnum);
  const verifiers = entries.map(([shnum, share]) => {
    if (shnum !== firstShnum) openShare(share, cap, shnum);
    const v = new ShareVerifier(layout, ueb, shnum);
    v.acceptSetup(readRanges(share, v.setupRanges()));
    return { v, share };
  });
  const out = new Uint8Array(layout.size);
  for (let i = 0; i < layout.numSegments; i++) {
    const slots: (Uint8Array | null)[] = new Array<Uint8Array | null>(layout.n).fill(null);
    for (const { v, share } of verifiers) slots[v.shnum] = v.verifyBlock(i, readRanges(share, v.segmentRanges(i)));
    const ciphertext = decodeSegment(layout, i, slots);
    verifyCiphertextSegment(ueb, layout, i, ciphertext, readRanges(firstShare, ciphertextProofRanges(layout, i)));
    out.set(decryptSegment(cap.readKey, i, ciphertext), i * layout.segmentSize);
  }
  return out;
}

/** A checker's full verification of one share: header, UEB, every tree node and every block. */
export function checkShareFully(share: Uint8Array, cap: ReadCap | VerifyCap, shnum: number): void {
  const { ueb, layout } = openShare(share, cap, shnum);
  if (share.length !== layout.shareSize) throw new Error(`share is ${share.length} bytes, expected ${layout.shareSize}`);
  const v = new ShareVerifier(layout, ueb, shnum);
  v.acceptFullTrees(readRanges(share, v.fullTreeRanges()));
  for (let i = 0; i < layout.numSegments; i++) v.verifyBlock(i, readRanges(share, v.segmentRanges(i)));
}

/** Deterministic pseudo-random bytes (xorshift32), so tests and vectors need no fixtures. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
