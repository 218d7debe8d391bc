import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PreconditionError } from '../../../libs/errors/index.js';
import { FileEncoder, planFile, segmentLength, SHARE_HEADER_BYTES, trailerBytes } from '../../../libs/format/index.js';
import { checkShareFully, download, encodeFile, patternBytes } from './helpers.js';

const KEY = patternBytes(32, 7);
const SEG = 1024;

describe('FileEncoder round trip', () => {
  const sizes = [0, 1, 2, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 5, 7 * SEG - 3];
  const codecs = [
    { k: 1, n: 1 },
    { k: 1, n: 3 },
    { k: 2, n: 2 },
    { k: 3, n: 10 },
    { k: 4, n: 7 },
    { k: 5, n: 5 },
  ];
  for (const { k, n } of codecs) {
    for (const size of sizes) {
      it(`recovers ${size} bytes with ${k}-of-${n}, ${SEG}-byte segments, from the first k shares`, () => {
        const plaintext = patternBytes(size, size + 1);
        const f = encodeFile(plaintext, { k, n, segmentSize: SEG }, KEY);
        const chosen = new Map(f.shares.slice(0, k).map((s, i) => [i, s] as const));
        expect(download(f.cap, chosen)).toEqual(plaintext);
      });
    }
  }

  it('recovers the file from the last k shares (parity only when k ≤ n − k)', () => {
    const plaintext = patternBytes(5 * SEG + 17, 3);
    const f = encodeFile(plaintext, { k: 3, n: 10, segmentSize: SEG }, KEY);
    const chosen = new Map(f.shares.map((s, i) => [i, s] as const).slice(7));
    expect(download(f.cap, chosen)).toEqual(plaintext);
  });

  it('writes shares of exactly layout.shareSize bytes that pass a full check', () => {
    const f = encodeFile(patternBytes(3 * SEG + 1), { k: 3, n: 5, segmentSize: SEG }, KEY);
    f.shares.forEach((share, s) => {
      expect(share.length).toBe(f.layout.shareSize);
      checkShareFully(share, f.cap, s);
    });
  });

  it('stores ciphertext, not plaintext, in the data blocks', () => {
    const plaintext = new Uint8Array(SEG); // all zeros: ciphertext = keystream
    const f = encodeFile(plaintext, { k: 1, n: 1, segmentSize: SEG }, KEY);
    const block = f.shares[0]!.subarray(SHARE_HEADER_BYTES, SHARE_HEADER_BYTES + SEG);
    expect(block.some((b) => b !== 0)).toBe(true);
  });

  it('is deterministic for a fixed key and plaintext', () => {
    const p = patternBytes(2 * SEG + 3);
    const a = encodeFile(p, { k: 2, n: 4, segmentSize: SEG }, KEY);
    const b = encodeFile(p, { k: 2, n: 4, segmentSize: SEG }, KEY);
    expect(a.shares).toEqual(b.shares);
  });
});

describe('decoding from any k shares', () => {
  function* subsets(n: number, k: number, start = 0): Generator<number[]> {
    if (k === 0) {
      yield [];
      return;
    }
    for (let i = start; i <= n - k; i++) for (const rest of subsets(n, k - 1, i + 1)) yield [i, ...rest];
  }

  it('recovers the file from every 3-subset of 6 shares', () => {
    const plaintext = patternBytes(3 * 256 + 10, 9);
    const f = encodeFile(plaintext, { k: 3, n: 6, segmentSize: 256 }, KEY);
    let count = 0;
    for (const set of subsets(6, 3)) {
      expect(download(f.cap, new Map(set.map((s) => [s, f.shares[s]!] as const)))).toEqual(plaintext);
      count++;
    }
    expect(count).toBe(20);
  });
});

describe('FileEncoder misuse', () => {
  const layout = planFile(2 * SEG, { k: 2, n: 3, segmentSize: SEG });

  it('rejects a plaintext segment of the wrong length', () => {
    const enc = new FileEncoder(KEY, layout);
    expect(() => enc.encodeSegment(new Uint8Array(SEG - 1))).toThrow(InvalidArgumentError);
  });

  it('rejects a segment after the last one', () => {
    const enc = new FileEncoder(KEY, layout);
    for (let i = 0; i < layout.numSegments; i++) enc.encodeSegment(new Uint8Array(segmentLength(layout, i)));
    expect(() => enc.encodeSegment(new Uint8Array(SEG))).toThrow(PreconditionError);
  });

  it('refuses to finish before every segment is encoded', () => {
    const enc = new FileEncoder(KEY, layout);
    enc.encodeSegment(new Uint8Array(SEG));
    expect(() => enc.finish()).toThrow(PreconditionError);
  });

  it('rejects a read key that is not 32 bytes', () => {
    expect(() => new FileEncoder(new Uint8Array(31), layout)).toThrow(InvalidArgumentError);
  });

  it('rejects a layout that planFile did not produce', () => {
    expect(() => new FileEncoder(KEY, { ...layout, shareSize: layout.shareSize + 1 })).toThrow(InvalidArgumentError);
  });

  it('does not keep the caller’s plaintext buffer', () => {
    const enc = new FileEncoder(KEY, planFile(SEG, { k: 1, n: 1, segmentSize: SEG }));
    const buf = patternBytes(SEG);
    const [block] = enc.encodeSegment(buf);
    const copy = block!.slice();
    buf.fill(0);
    expect(block).toEqual(copy);
  });

  it('returns trailers of trailerBytes(layout) bytes', () => {
    const enc = new FileEncoder(KEY, layout);
    for (let i = 0; i < layout.numSegments; i++) enc.encodeSegment(new Uint8Array(segmentLength(layout, i)));
    const done = enc.finish();
    expect(done.trailer(2).length).toBe(trailerBytes(layout));
    expect(() => done.trailer(3)).toThrow(InvalidArgumentError);
  });
});
