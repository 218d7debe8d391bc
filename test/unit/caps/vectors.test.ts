/**
 * Pinned vectors (test/vectors/caps.json): fixed keys give byte-identical cap
 * texts, storage indexes and redactions, so a format change is never silent.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  formatCap,
  formatStorageIndex,
  parseCap,
  redactCap,
  STORAGE_INDEX_TAG,
  storageIndexFromReadKey,
  toVerifyCap,
  type ReadCap,
} from '../../../libs/caps/index.js';
import { fromHex, toHex } from '../../../libs/crypto/index.js';

interface Vector {
  name: string;
  readKeyHex: string;
  uebHashHex: string;
  k: number;
  n: number;
  size: number;
  areaCode: string | null;
  storageIndexHex: string;
  storageIndexBase32: string;
  readCap: string;
  verifyCap: string;
  redacted: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/caps.json', import.meta.url), 'utf8')) as {
  storageIndexTag: string;
  vectors: Vector[];
};

function readCapOf(v: Vector): ReadCap {
  const cap: ReadCap = { kind: 'read', readKey: fromHex(v.readKeyHex), uebHash: fromHex(v.uebHashHex), k: v.k, n: v.n, size: v.size };
  if (v.areaCode !== null) cap.areaCode = v.areaCode;
  return cap;
}

describe('caps vectors', () => {
  it('were made with the current storage-index tag', () => {
    expect(file.storageIndexTag).toBe(STORAGE_INDEX_TAG);
    expect(file.vectors.length).toBeGreaterThanOrEqual(5);
  });

  describe.each(file.vectors.map((v) => [v.name, v] as const))('%s', (_, v) => {
    it('formats the read-cap to the pinned text', () => {
      expect(formatCap(readCapOf(v))).toBe(v.readCap);
    });

    it('derives the pinned storage index', () => {
      const si = storageIndexFromReadKey(fromHex(v.readKeyHex));
      expect(toHex(si)).toBe(v.storageIndexHex);
      expect(formatStorageIndex(si)).toBe(v.storageIndexBase32);
    });

    it('attenuates to the pinned verify-cap text', () => {
      expect(formatCap(toVerifyCap(readCapOf(v)))).toBe(v.verifyCap);
      expect(formatCap(toVerifyCap(parseCap(v.readCap)))).toBe(v.verifyCap);
    });

    it('parses the pinned texts back to the inputs', () => {
      expect(parseCap(v.readCap)).toEqual(readCapOf(v));
      expect(formatCap(parseCap(v.verifyCap))).toBe(v.verifyCap);
    });

    it('redacts to the pinned log text', () => {
      expect(redactCap(v.readCap)).toBe(v.redacted);
    });
  });
});
