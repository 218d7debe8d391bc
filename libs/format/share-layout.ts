/**
 * The share header: the first SHARE_HEADER_BYTES of every share, written
 * before any block. It repeats the offsets of every region (all computable
 * from the layout), so a reader holding only a share can find its UEB.
 *
 * Byte-offset table (share version 1, SHARE_HEADER_BYTES = 76, big-endian):
 *
 *   off  len  field
 *   0    4    magic "IGSH" (0x49 0x47 0x53 0x48)
 *   4    2    version = 1
 *   6    2    share number      0 ≤ shnum < n
 *   8    2    k
 *   10   2    n
 *   12   4    blockSize         block bytes of a full segment
 *   16   4    tailBlockSize     block bytes of the last segment
 *   20   8    numSegments
 *   28   8    blocksOffset          = 76
 *   36   8    blockTreeOffset       = blocksOffset + (numSegments−1)·blockSize + tailBlockSize
 *   44   8    shareTreeOffset       = blockTreeOffset + 32·(2·P(numSegments) − 1)
 *   52   8    ciphertextTreeOffset  = shareTreeOffset + 32·(2·P(n) − 1)
 *   60   8    uebOffset             = ciphertextTreeOffset + 32·(2·P(numSegments) − 1)
 *   68   8    shareSize             = uebOffset + 106
 *
 * The header is not hashed: parseShareHeader checks it is self-consistent
 * (enough to locate the UEB safely), and once the UEB is authenticated
 * checkShareHeader requires every field to equal what the layout implies.
 * The share's regions are listed in layout.ts.
 */
import { bytesEqual } from '../crypto/index.js';
import { LayoutInvalidError, assertInt } from '../errors/index.js';
import { FieldReader, FieldWriter, magicBytes } from './fixed-fields.js';
import { FORMAT_VERSION, SHARE_HEADER_BYTES, UEB_BYTES, type FileLayout } from './layout.js';
import type { ByteRange } from './range.js';
import { treeBytes } from './merkle.js';
import { MAX_SHARES } from '../erasure/index.js';

/** Share header version written and accepted. */
export const SHARE_VERSION = FORMAT_VERSION;
const MAGIC = magicBytes('IGSH');

/** The decoded fields of a share header. */
export interface ShareHeader {
  version: number;
  shnum: number;
  k: number;
  n: number;
  blockSize: number;
  tailBlockSize: number;
  numSegments: number;
  blocksOffset: number;
  blockTreeOffset: number;
  shareTreeOffset: number;
  ciphertextTreeOffset: number;
  uebOffset: number;
  shareSize: number;
}

/** The header of share `shnum` of a file with this layout. */
export function encodeShareHeader(layout: FileLayout, shnum: number): Uint8Array {
  assertInt('shnum', shnum, 0, layout.n - 1);
  return new FieldWriter(SHARE_HEADER_BYTES)
    .raw(MAGIC)
    .u16(SHARE_VERSION)
    .u16(shnum)
    .u16(layout.k)
    .u16(layout.n)
    .u32(layout.blockSize)
    .u32(layout.tailBlockSize)
    .u64(layout.numSegments)
    .u64(layout.blocksOffset)
    .u64(layout.blockTreeOffset)
    .u64(layout.shareTreeOffset)
    .u64(layout.ciphertextTreeOffset)
    .u64(layout.uebOffset)
    .u64(layout.shareSize)
    .done();
}

/**
 * Parses an untrusted share header (the first SHARE_HEADER_BYTES of `bytes`)
 * and checks it is self-consistent.
 * @throws LayoutInvalidError naming the first bad field.
 */
export function parseShareHeader(bytes: Uint8Array): ShareHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length < SHARE_HEADER_BYTES) {
    throw new LayoutInvalidError(`share header must be ${SHARE_HEADER_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
  const r = new FieldReader(bytes.subarray(0, SHARE_HEADER_BYTES), 'share header');
  if (!bytesEqual(r.raw(4), MAGIC)) throw new LayoutInvalidError('share header magic is not "IGSH"');
  const version = r.u16();
  if (version !== SHARE_VERSION) throw new LayoutInvalidError(`share version ${version} is not supported (expected ${SHARE_VERSION})`);
  const h: ShareHeader = {
    version,
    shnum: r.u16(),
    k: r.u16(),
    n: r.u16(),
    blockSize: r.u32(),
    tailBlockSize: r.u32(),
    numSegments: r.u64('numSegments'),
    blocksOffset: r.u64('blocksOffset'),
    blockTreeOffset: r.u64('blockTreeOffset'),
    shareTreeOffset: r.u64('shareTreeOffset'),
    ciphertextTreeOffset: r.u64('ciphertextTreeOffset'),
    uebOffset: r.u64('uebOffset'),
    shareSize: r.u64('shareSize'),
  };
  const bad = (msg: string): never => {
    throw new LayoutInvalidError(`share header: ${msg}`);
  };
  if (h.k < 1 || h.n < h.k || h.n > MAX_SHARES) bad(`k=${h.k}, n=${h.n} is not 1 <= k <= n <= ${MAX_SHARES}`);
  if (h.shnum >= h.n) bad(`share number ${h.shnum} is not below n=${h.n}`);
  if (h.numSegments < 1) bad('numSegments is 0');
  if (h.blockSize < 1 || h.tailBlockSize > h.blockSize) bad(`block sizes ${h.blockSize}/${h.tailBlockSize} are inconsistent`);
  if (h.numSegments > 1 && h.tailBlockSize === 0) bad('a multi-segment file has an empty tail block');
  const expected: [keyof ShareHeader, number][] = [];
  let off = SHARE_HEADER_BYTES;
  expected.push(['blocksOffset', off]);
  off += (h.numSegments - 1) * h.blockSize + h.tailBlockSize;
  expected.push(['blockTreeOffset', off]);
  off += treeBytes(h.numSegments);
  expected.push(['shareTreeOffset', off]);
  off += treeBytes(h.n);
  expected.push(['ciphertextTreeOffset', off]);
  off += treeBytes(h.numSegments);
  expected.push(['uebOffset', off]);
  off += UEB_BYTES;
  expected.push(['shareSize', off]);
  for (const [field, value] of expected) {
    if (!Number.isSafeInteger(value) || h[field] !== value) bad(`${field} is ${h[field]}, expected ${value}`);
  }
  return h;
}

/** Where the UEB lies in the share this header came from. */
export function uebRange(header: ShareHeader): ByteRange {
  return { offset: header.uebOffset, length: UEB_BYTES };
}

/**
 * Requires a parsed header to be exactly the header of share `shnum` under
 * the (authenticated) layout.
 * @throws LayoutInvalidError naming the first field that differs.
 */
export function checkShareHeader(header: ShareHeader, layout: FileLayout, shnum: number): void {
  const want: Record<keyof ShareHeader, number> = {
    version: SHARE_VERSION,
    shnum,
    k: layout.k,
    n: layout.n,
    blockSize: layout.blockSize,
    tailBlockSize: layout.tailBlockSize,
    numSegments: layout.numSegments,
    blocksOffset: layout.blocksOffset,
    blockTreeOffset: layout.blockTreeOffset,
    shareTreeOffset: layout.shareTreeOffset,
    ciphertextTreeOffset: layout.ciphertextTreeOffset,
    uebOffset: layout.uebOffset,
    shareSize: layout.shareSize,
  };
  for (const field of Object.keys(want) as (keyof ShareHeader)[]) {
    if (header[field] !== want[field]) throw new LayoutInvalidError(`share ${shnum} header: ${field} is ${header[field]}, but the UEB implies ${want[field]}`);
  }
}
