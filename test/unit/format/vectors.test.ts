import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReadCap } from '../../../libs/caps/index.js';
import { fromHex } from '../../../libs/crypto/index.js';
import { computeVector, FORMAT_VECTORS_PATH, vectorPlaintext, type VectorSpec } from './vector-data.js';
import { download, encodeFile } from './helpers.js';

const pinned = JSON.parse(readFileSync(FORMAT_VECTORS_PATH, 'utf8')) as { vectors: (VectorSpec & Record<string, unknown>)[] };

describe('format vectors (test/vectors/format.json)', () => {
  for (const v of pinned.vectors) {
    it(`reproduces every pinned value and share hash: ${v.name}`, () => {
      expect(computeVector(v)).toEqual(v);
    });

    it(`downloads the pinned plaintext through the pinned read-cap: ${v.name}`, () => {
      const cap = parseReadCap(v.readCap as string);
      expect(cap.uebHash).toEqual(fromHex(v.uebHashHex as string));
      const f = encodeFile(vectorPlaintext(v.size), { k: v.k, n: v.n, segmentSize: v.segmentSize }, cap.readKey);
      const chosen = new Map(f.shares.slice(-v.k).map((s, j) => [v.n - v.k + j, s] as const));
      expect(download(cap, chosen)).toEqual(vectorPlaintext(v.size));
    });
  }
});
