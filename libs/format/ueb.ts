/**
 * The URI extension block (UEB): the canonical, fixed-length record of a
 * file's codec parameters, sizes and Merkle roots. The cap carries its hash,
 * so one 32-byte comparison authenticates everything below it.
 *
 * Byte-offset table (UEB version 1, UEB_BYTES = 106, integers big-endian):
 *
 *   off  len  field
 *   0    4    magic "IGUE" (0x49 0x47 0x55 0x45)
 *   4    2    version = 1
 *   6    2    k                 1 ≤ k ≤ n
 *   8    2    n                 n ≤ 256
 *   10   4    segmentSize       1 ≤ segmentSize ≤ 64 MiB
 *   14   8    size              plaintext bytes, ≤ 2^53 − 1
 *   22   8    numSegments       = max(1, ceil(size / segmentSize))
 *   30   4    tailSegmentSize   = size − (numSegments − 1)·segmentSize
 *   34   4    blockSize         = ceil(segmentSize / k)
 *   38   4    tailBlockSize     = ceil(tailSegmentSize / k)
 *   42   32   ciphertext-tree root
 *   74   32   share-tree root
 *
 *   uebHash = taggedHash('intergrid:ueb:v1', ueb bytes)
 *
 * Decoding is strict: wrong length, magic or version, or any derived field
 * that disagrees with planFile(size, {k, n, segmentSize}) is a
 * LayoutInvalidError, so exactly one byte string encodes each UEB.
 */
import { HASH_BYTES, bytesEqual, taggedHash } from '../crypto/index.js';
import { IntegrityError, LayoutInvalidError, assertBytes } from '../errors/index.js';
import type { ReadCap, VerifyCap } from '../caps/index.js';
import { FieldReader, FieldWriter, magicBytes } from './fixed-fields.js';
import { FORMAT_VERSION, UEB_BYTES, planStoredFile, type FileLayout } from './layout.js';

/** Hash tag of the UEB. */
export const UEB_TAG = 'intergrid:ueb:v1';
/** UEB version written and accepted. */
export const UEB_VERSION = FORMAT_VERSION;
const MAGIC = magicBytes('IGUE');

/** A decoded (and, from openUeb, authenticated) URI extension block. */
export interface Ueb {
  version: number;
  k: number;
  n: number;
  segmentSize: number;
  size: number;
  numSegments: number;
  tailSegmentSize: number;
  blockSize: number;
  tailBlockSize: number;
  /** Root of the tree over the ciphertext segment hashes. */
  ciphertextRoot: Uint8Array;
  /** Root of the tree over the n block-tree roots. */
  shareRoot: Uint8Array;
  /** taggedHash(UEB_TAG, encoding): what caps carry. */
  hash: Uint8Array;
}

/** The fields a UEB is built from: the layout plus the two roots. */
export interface UebRoots {
  ciphertextRoot: Uint8Array;
  shareRoot: Uint8Array;
}

/** Canonical encoding of the UEB for `layout` and its roots. */
export function encodeUeb(layout: FileLayout, roots: UebRoots): Uint8Array {
  assertBytes('ciphertextRoot', roots.ciphertextRoot, HASH_BYTES);
  assertBytes('shareRoot', roots.shareRoot, HASH_BYTES);
  return new FieldWriter(UEB_BYTES)
    .raw(MAGIC)
    .u16(UEB_VERSION)
    .u16(layout.k)
    .u16(layout.n)
    .u32(layout.segmentSize)
    .u64(layout.size)
    .u64(layout.numSegments)
    .u32(layout.tailSegmentSize)
    .u32(layout.blockSize)
    .u32(layout.tailBlockSize)
    .raw(roots.ciphertextRoot)
    .raw(roots.shareRoot)
    .done();
}

/** taggedHash('intergrid:ueb:v1', bytes). */
export function hashUeb(uebBytes: Uint8Array): Uint8Array {
  return taggedHash(UEB_TAG, uebBytes);
}

/**
 * Strictly decodes UEB bytes (not authenticated: use openUeb for bytes from a share).
 * @throws LayoutInvalidError naming the first malformed field.
 */
export function decodeUeb(uebBytes: Uint8Array): Ueb {
  if (!(uebBytes instanceof Uint8Array) || uebBytes.length !== UEB_BYTES) {
    throw new LayoutInvalidError(`UEB must be ${UEB_BYTES} bytes, got ${uebBytes instanceof Uint8Array ? uebBytes.length : typeof uebBytes}`);
  }
  const r = new FieldReader(uebBytes, 'UEB');
  if (!bytesEqual(r.raw(4), MAGIC)) throw new LayoutInvalidError(`UEB magic is not "IGUE"`);
  const version = r.u16();
  if (version !== UEB_VERSION) throw new LayoutInvalidError(`UEB version ${version} is not supported (expected ${UEB_VERSION})`);
  const k = r.u16();
  const n = r.u16();
  const segmentSize = r.u32();
  const size = r.u64('size');
  const numSegments = r.u64('numSegments');
  const tailSegmentSize = r.u32();
  const blockSize = r.u32();
  const tailBlockSize = r.u32();
  const ciphertextRoot = r.raw(HASH_BYTES);
  const shareRoot = r.raw(HASH_BYTES);
  const layout = planStoredFile(size, { k, n, segmentSize });
  const derived = { numSegments, tailSegmentSize, blockSize, tailBlockSize } as const;
  for (const [field, value] of Object.entries(derived)) {
    const expected = layout[field as keyof typeof derived];
    if (value !== expected) throw new LayoutInvalidError(`UEB ${field} is ${value}, but size ${size} with k=${k}, segmentSize=${segmentSize} gives ${expected}`);
  }
  return { version, k, n, segmentSize, size, numSegments, tailSegmentSize, blockSize, tailBlockSize, ciphertextRoot, shareRoot, hash: hashUeb(uebBytes) };
}

/**
 * Authenticates UEB bytes read from a share against a cap: the tagged hash
 * must equal cap.uebHash, and k, n and size must agree with the cap.
 * @throws IntegrityError on a hash or cap mismatch; LayoutInvalidError when
 *   hash-matching bytes are malformed (a cap made from a bad UEB).
 */
export function openUeb(uebBytes: Uint8Array, cap: ReadCap | VerifyCap): Ueb {
  if (!(uebBytes instanceof Uint8Array) || uebBytes.length !== UEB_BYTES) {
    throw new IntegrityError(`UEB must be ${UEB_BYTES} bytes, got ${uebBytes instanceof Uint8Array ? uebBytes.length : typeof uebBytes}`);
  }
  if (!bytesEqual(hashUeb(uebBytes), cap.uebHash)) throw new IntegrityError('UEB hash does not match the cap');
  const ueb = decodeUeb(uebBytes);
  for (const field of ['k', 'n', 'size'] as const) {
    if (ueb[field] !== cap[field]) throw new IntegrityError(`UEB says ${field}=${ueb[field]} but the cap says ${field}=${cap[field]}`);
  }
  return ueb;
}

/** The layout a UEB describes. */
export function layoutFromUeb(ueb: Ueb): FileLayout {
  return planStoredFile(ueb.size, { k: ueb.k, n: ueb.n, segmentSize: ueb.segmentSize });
}
