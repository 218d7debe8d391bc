/**
 * ShareRebuilder: from the ciphertext alone (no read key) and the stored UEB,
 * every share comes out byte-identical to what the uploader's FileEncoder
 * wrote, for any size and encoding; ciphertext that is not the file's is
 * refused at finish(), before any trailer exists.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toVerifyCap } from '../../../libs/caps/index.js';
import { IntegrityError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { ShareRebuilder, encryptSegment, segmentLength, openUeb, layoutFromUeb, UEB_BYTES, type FileLayout } from '../../../libs/format/index.js';
import { encodeFile, patternBytes } from './helpers.js';

const KEY = new Uint8Array(32).fill(7);

/** Rebuilds all n shares from the file's ciphertext segments (optionally altered). */
function rebuild(plaintext: Uint8Array, params: { k: number; n: number; segmentSize: number }, alter?: (i: number, c: Uint8Array) => void): { original: Uint8Array[]; rebuilt: Uint8Array[] } {
  const enc = encodeFile(plaintext, params, KEY);
  const uebBytes = enc.shares[0]!.subarray(enc.shares[0]!.length - UEB_BYTES);
  const ueb = openUeb(uebBytes, toVerifyCap(enc.cap));
  const layout: FileLayout = layoutFromUeb(ueb);
  const r = new ShareRebuilder(layout, ueb, uebBytes);
  const parts: Uint8Array[][] = Array.from({ length: layout.n }, (_, s) => [r.shareHeader(s)]);
  for (let i = 0; i < layout.numSegments; i++) {
    const off = i * layout.segmentSize;
    const ciphertext = encryptSegment(KEY, i, plaintext.subarray(off, off + segmentLength(layout, i)));
    alter?.(i, ciphertext);
    const blocks = r.encodeCiphertext(ciphertext);
    blocks.forEach((b, s) => parts[s]!.push(b.slice()));
  }
  const fin = r.finish();
  parts.forEach((p, s) => p.push(fin.trailer(s)));
  return { original: enc.shares, rebuilt: parts.map((p) => Buffer.concat(p)) };
}

describe('ShareRebuilder', () => {
  it('rebuilds every share byte-identical from ciphertext, for any size and encoding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 1500 }), (size, k, extra, segmentSize) => {
        const { original, rebuilt } = rebuild(patternBytes(size, size + 1), { k, n: k + extra, segmentSize });
        expect(rebuilt.length).toBe(original.length);
        rebuilt.forEach((share, s) => expect(Buffer.from(share).equals(Buffer.from(original[s]!)), `share ${s}`).toBe(true));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses ciphertext that is not the file\'s at finish()', () => {
    expect(() => rebuild(patternBytes(3000), { k: 3, n: 10, segmentSize: 1024 }, (i, c) => void (i === 1 && (c[5]! ^= 1)))).toThrow(IntegrityError);
    expect(() => rebuild(patternBytes(3000), { k: 3, n: 10, segmentSize: 1024 }, (i, c) => void (i === 1 && (c[5]! ^= 1)))).toThrow(/rebuilt ciphertext tree does not match the UEB/);
  });

  it('refuses a segment of the wrong length', () => {
    const enc = encodeFile(patternBytes(10), { k: 2, n: 4, segmentSize: 8 }, KEY);
    const uebBytes = enc.shares[0]!.subarray(enc.shares[0]!.length - UEB_BYTES);
    const ueb = openUeb(uebBytes, enc.cap);
    const r = new ShareRebuilder(layoutFromUeb(ueb), ueb, uebBytes);
    expect(() => r.encodeCiphertext(new Uint8Array(7))).toThrow(InvalidArgumentError);
  });
});
