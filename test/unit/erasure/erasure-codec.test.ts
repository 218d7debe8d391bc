import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { createCodec, wasmMemoryBytes } from '../../../libs/erasure/index.js';
import { InvalidArgumentError, NotEnoughSharesError } from '../../../libs/errors/index.js';

function dataBlocks(k: number, size: number): Uint8Array[] {
  return Array.from({ length: k }, () => new Uint8Array(randomBytes(size)));
}

/** All n blocks of a codeword: data then parity. */
function codeword(k: number, n: number, size: number): { data: Uint8Array[]; all: Uint8Array[] } {
  const data = dataBlocks(k, size);
  return { data, all: [...data, ...createCodec(k, n).encode(data)] };
}

/** Deterministic PRNG so the regression loop is reproducible. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function erase(all: readonly Uint8Array[], lost: Iterable<number>): (Uint8Array | null)[] {
  const blocks: (Uint8Array | null)[] = [...all];
  for (const i of lost) blocks[i] = null;
  return blocks;
}

describe('createCodec', () => {
  it('returns the same instance for the same (k, n)', () => {
    expect(createCodec(3, 10)).toBe(createCodec(3, 10));
    expect(createCodec(3, 10)).not.toBe(createCodec(3, 9));
  });

  it.each([
    [1, 1],
    [1, 3],
    [3, 10],
    [10, 10],
    [2, 4],
    [7, 16],
    [1, 256],
    [200, 256],
  ])('(%i, %i) returns n - k parity blocks and decodes with every data block missing that n - k allows', (k, n) => {
    for (const size of [1, 7, 64, 1000]) {
      const { data, all } = codeword(k, n, size);
      expect(all).toHaveLength(n);
      for (const p of all.slice(k)) expect(p).toHaveLength(size);
      // Lose the first min(k, n-k) data blocks: the hardest case for a systematic code.
      const lost = Array.from({ length: Math.min(k, n - k) }, (_, i) => i);
      const got = createCodec(k, n).decode(erase(all, lost));
      expect(got).toEqual(data);
    }
  });

  it('returns the data blocks themselves when all are present (systematic fast path)', () => {
    const { data, all } = codeword(3, 10, 100);
    const got = createCodec(3, 10).decode(erase(all, [3, 4, 5, 6, 7, 8, 9]));
    expect(got).toHaveLength(3);
    got.forEach((b, i) => expect(b).toBe(data[i]));
  });

  it('encodes and decodes empty blocks', () => {
    const rs = createCodec(3, 10);
    const parity = rs.encode([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
    expect(parity).toEqual(Array.from({ length: 7 }, () => new Uint8Array(0)));
    const blocks = [null, null, null, ...parity];
    expect(rs.decode(blocks)).toEqual([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
  });

  it('does not modify the caller\'s blocks', () => {
    const { all } = codeword(3, 10, 50);
    const before = all.map((b) => Uint8Array.from(b));
    createCodec(3, 10).decode(erase(all, [0, 2]));
    expect(all).toEqual(before);
  });

  it('recovers the data from any k of the n blocks (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((k) =>
          fc.record({
            k: fc.constant(k),
            n: fc.integer({ min: k, max: 20 }),
            size: fc.integer({ min: 0, max: 300 }),
            seed: fc.integer(),
          }),
        ),
        ({ k, n, size, seed }) => {
          const { data, all } = codeword(k, n, size);
          // Keep a random k-subset (plus maybe a few more) and drop the rest.
          const order = Array.from({ length: n }, (_, i) => i);
          const rnd = xorshift(seed);
          for (let i = n - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const keep = k + Math.floor(rnd() * (n - k + 1));
          const got = createCodec(k, n).decode(erase(all, order.slice(keep)));
          expect(got).toEqual(data);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('regression: repeated reconstructs on one codec instance', () => {
  // The package's own JS wrapper double-freed the availability vector, so the
  // second or third reconstruct failed or trapped. Ours must survive thousands.
  it('stays byte-exact over 1,500 reconstructs with random erasures and the wasm memory stops growing', () => {
    const k = 3;
    const n = 10;
    const rs = createCodec(k, n);
    const rnd = xorshift(0x1badb002);
    const maxSize = 4096;
    // Warm-up at the largest size used, so the scratch buffer is at its final size.
    const warm = codeword(k, n, maxSize);
    for (let i = 0; i < 20; i++) expect(rs.decode(erase(warm.all, [0, 1, 5]))).toEqual(warm.data);
    const afterWarmUp = wasmMemoryBytes();
    expect(afterWarmUp).toBeGreaterThan(0);

    let reconstructs = 0;
    for (let iter = 0; iter < 1500; iter++) {
      const size = 1 + Math.floor(rnd() * maxSize);
      const { data, all } = codeword(k, n, size);
      // Lose one data block for sure (so reconstruct runs), then up to n - k - 1 more.
      const lost = new Set<number>([Math.floor(rnd() * k)]);
      const extra = Math.floor(rnd() * (n - k));
      while (lost.size < 1 + extra) lost.add(Math.floor(rnd() * n));
      const got = rs.decode(erase(all, lost));
      for (let i = 0; i < k; i++) {
        if (!Buffer.from(got[i]!).equals(Buffer.from(data[i]!))) {
          throw new Error(`iteration ${iter}: block ${i} differs (lost ${[...lost].join(',')}, size ${size})`);
        }
      }
      reconstructs++;
    }
    expect(reconstructs).toBe(1500);
    expect(wasmMemoryBytes()).toBe(afterWarmUp);
  });

  it('keeps encoding correctly between reconstructs of a different (k, n)', () => {
    const a = createCodec(3, 10);
    const b = createCodec(5, 8);
    for (let i = 0; i < 200; i++) {
      const x = codeword(3, 10, 333);
      const y = codeword(5, 8, 129);
      expect(a.decode(erase(x.all, [0, 1, 2]))).toEqual(x.data);
      expect(b.decode(erase(y.all, [4, 0, 7]))).toEqual(y.data);
    }
  });
});

describe('bad input', () => {
  const b = (len: number): Uint8Array => new Uint8Array(len);

  it.each<[string, () => unknown]>([
    ['k = 0', () => createCodec(0, 3)],
    ['n < k', () => createCodec(3, 2)],
    ['fractional k', () => createCodec(1.5, 3)],
    ['n > 256', () => createCodec(3, 257)],
    ['k as a string', () => createCodec('3' as unknown as number, 10)],
    ['NaN n', () => createCodec(3, Number.NaN)],
  ])('createCodec rejects %s with InvalidArgumentError', (_name, f) => {
    expect(f).toThrow(InvalidArgumentError);
  });

  it.each<[string, () => unknown]>([
    ['too few data blocks', () => createCodec(3, 10).encode([b(4), b(4)])],
    ['too many data blocks', () => createCodec(3, 10).encode([b(4), b(4), b(4), b(4)])],
    ['unequal data lengths', () => createCodec(3, 10).encode([b(4), b(5), b(4)])],
    ['a null data block', () => createCodec(3, 10).encode([b(4), null as unknown as Uint8Array, b(4)])],
    ['a non-bytes data block', () => createCodec(3, 10).encode([b(4), [1, 2, 3, 4] as unknown as Uint8Array, b(4)])],
    ['a non-array', () => createCodec(3, 10).encode('abc' as unknown as Uint8Array[])],
  ])('encode rejects %s with InvalidArgumentError', (_name, f) => {
    expect(f).toThrow(InvalidArgumentError);
  });

  it.each<[string, () => unknown]>([
    ['too few entries', () => createCodec(3, 10).decode([b(4), b(4), b(4)])],
    ['too many entries', () => createCodec(3, 5).decode([b(4), b(4), b(4), b(4), b(4), b(4)])],
    ['unequal lengths', () => createCodec(3, 5).decode([b(4), null, b(4), b(3), b(4)])],
    ['an undefined entry', () => createCodec(3, 5).decode([b(4), undefined as unknown as null, b(4), b(4), b(4)])],
  ])('decode rejects %s with InvalidArgumentError', (_name, f) => {
    expect(f).toThrow(InvalidArgumentError);
  });

  it.each<[string, () => unknown]>([
    ['2 of 3-of-5 present', () => createCodec(3, 5).decode([null, b(4), null, b(4), null])],
    ['none of 3-of-10 present', () => createCodec(3, 10).decode(Array.from({ length: 10 }, () => null))],
    ['9 of 10-of-10 present', () => createCodec(10, 10).decode([null, ...Array.from({ length: 9 }, () => b(4))])],
    ['0 of 1-of-1 present', () => createCodec(1, 1).decode([null])],
  ])('decode rejects %s with NotEnoughSharesError', (_name, f) => {
    expect(f).toThrow(NotEnoughSharesError);
  });

  it('names the counts in the NotEnoughSharesError message', () => {
    expect(() => createCodec(3, 5).decode([null, b(4), null, b(4), null])).toThrow(/needs 3 blocks, only 2 present/);
  });
});
