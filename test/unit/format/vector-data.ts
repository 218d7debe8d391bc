/**
 * Computes the pinned format vectors (test/vectors/format.json) from their
 * specs. Generated once with
 *   npx tsx -e "import('./test/unit/format/vector-data.ts').then(m => m.writeFormatVectors())"
 * and never regenerated for a change of bytes: a format change must bump a version or tag.
 */
import { writeFileSync } from 'node:fs';
import { formatCap, storageIndexFromReadKey, toVerifyCap } from '../../../libs/caps/index.js';
import { sha256, toHex } from '../../../libs/crypto/index.js';
import { SHARE_HEADER_BYTES, decodeUeb, encryptSegment, segmentLength } from '../../../libs/format/index.js';
import { encodeFile } from './helpers.js';

export const FORMAT_VECTORS_PATH = new URL('../../vectors/format.json', import.meta.url);

export interface VectorSpec {
  name: string;
  /** Read key byte j = (readKeyStart + j) mod 256. */
  readKeyStart: number;
  /** Plaintext byte i = i mod 251. */
  size: number;
  k: number;
  n: number;
  segmentSize: number;
}

export const VECTOR_SPECS: VectorSpec[] = [
  { name: 'worked example: 2500 bytes, 3-of-5, 1 KiB segments', readKeyStart: 0, size: 2500, k: 3, n: 5, segmentSize: 1024 },
  { name: 'empty file, 3-of-10, 1 MiB segments', readKeyStart: 0x20, size: 0, k: 3, n: 10, segmentSize: 1048576 },
  { name: 'one byte, 2-of-3, 1 KiB segments', readKeyStart: 0x40, size: 1, k: 2, n: 3, segmentSize: 1024 },
];

export function vectorReadKey(start: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, j) => (start + j) % 256);
}

export function vectorPlaintext(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i % 251);
}

export function computeVector(spec: VectorSpec): Record<string, unknown> {
  const readKey = vectorReadKey(spec.readKeyStart);
  const plaintext = vectorPlaintext(spec.size);
  const f = encodeFile(plaintext, { k: spec.k, n: spec.n, segmentSize: spec.segmentSize }, readKey);
  const l = f.layout;
  const uebBytes = f.shares[0]!.slice(l.uebOffset, l.shareSize);
  const ueb = decodeUeb(uebBytes);
  const firstLen = segmentLength(l, 0);
  return {
    ...spec,
    readKeyHex: toHex(readKey),
    storageIndexHex: toHex(storageIndexFromReadKey(readKey)),
    layout: {
      numSegments: l.numSegments,
      tailSegmentSize: l.tailSegmentSize,
      blockSize: l.blockSize,
      tailBlockSize: l.tailBlockSize,
      blocksOffset: l.blocksOffset,
      blockTreeOffset: l.blockTreeOffset,
      shareTreeOffset: l.shareTreeOffset,
      ciphertextTreeOffset: l.ciphertextTreeOffset,
      uebOffset: l.uebOffset,
      shareSize: l.shareSize,
    },
    firstCiphertextBytesHex: toHex(encryptSegment(readKey, 0, plaintext.subarray(0, Math.min(16, firstLen)))),
    ciphertextRootHex: toHex(ueb.ciphertextRoot),
    shareRootHex: toHex(ueb.shareRoot),
    uebHex: toHex(uebBytes),
    uebHashHex: toHex(f.uebHash),
    readCap: formatCap(f.cap),
    verifyCap: formatCap(toVerifyCap(f.cap)),
    share0HeaderHex: toHex(f.shares[0]!.subarray(0, SHARE_HEADER_BYTES)),
    shareSha256Hex: f.shares.map((s) => toHex(sha256(s))),
  };
}

export function computeFormatVectors(): Record<string, unknown> {
  return {
    description:
      'Pinned CHK format vectors. Generated once by test/unit/format/vector-data.ts; vectors.test.ts asserts equality. ' +
      'A difference is a format change: bump the format version or tags instead of regenerating. ' +
      'readKey byte j = (readKeyStart + j) mod 256; plaintext byte i = i mod 251.',
    formatVersion: 1,
    vectors: VECTOR_SPECS.map(computeVector),
  };
}

export function writeFormatVectors(): void {
  writeFileSync(FORMAT_VECTORS_PATH, JSON.stringify(computeFormatVectors(), null, 2) + '\n');
}
