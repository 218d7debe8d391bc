import { describe, expect, it } from 'vitest';
import type { VerifyCap } from '../../../libs/caps/index.js';
import { taggedHash } from '../../../libs/crypto/index.js';
import { IntegrityError, LayoutInvalidError } from '../../../libs/errors/index.js';
import { UEB_BYTES, decodeUeb, encodeUeb, hashUeb, layoutFromUeb, openUeb, planFile } from '../../../libs/format/index.js';

const layout = planFile(5000, { k: 3, n: 7, segmentSize: 1024 });
const roots = { ciphertextRoot: taggedHash('test:ct'), shareRoot: taggedHash('test:share') };
const bytes = encodeUeb(layout, roots);
const cap: VerifyCap = { kind: 'verify', storageIndex: new Uint8Array(16), uebHash: hashUeb(bytes), k: 3, n: 7, size: 5000 };

function patched(offset: number, value: number[]): Uint8Array {
  const b = bytes.slice();
  b.set(value, offset);
  return b;
}

describe('UEB encoding', () => {
  it('is UEB_BYTES long and decodes to the layout and roots it was built from', () => {
    expect(bytes.length).toBe(UEB_BYTES);
    const ueb = decodeUeb(bytes);
    expect(ueb).toMatchObject({ version: 1, k: 3, n: 7, segmentSize: 1024, size: 5000, numSegments: 5, tailSegmentSize: 904, blockSize: 342, tailBlockSize: 302 });
    expect(ueb.ciphertextRoot).toEqual(roots.ciphertextRoot);
    expect(ueb.shareRoot).toEqual(roots.shareRoot);
    expect(layoutFromUeb(ueb)).toEqual(layout);
  });

  it('hashes with the tag intergrid:ueb:v1', () => {
    expect(hashUeb(bytes)).toEqual(taggedHash('intergrid:ueb:v1', bytes));
  });

  it.each([
    ['short', bytes.subarray(0, UEB_BYTES - 1)],
    ['long', new Uint8Array([...bytes, 0])],
    ['bad magic', patched(0, [0x58])],
    ['version 2', patched(4, [0, 2])],
    ['k = 0', patched(6, [0, 0])],
    ['n < k', patched(8, [0, 2])],
    ['segmentSize 0', patched(10, [0, 0, 0, 0])],
    ['size over 2^53', patched(14, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['numSegments disagreeing with size', patched(22, [0, 0, 0, 0, 0, 0, 0, 6])],
    ['tailSegmentSize disagreeing', patched(30, [0, 0, 0, 1])],
    ['blockSize disagreeing', patched(34, [0, 0, 0, 1])],
    ['tailBlockSize disagreeing', patched(38, [0, 0, 0, 1])],
  ])('rejects a %s UEB with LayoutInvalidError', (_name, b) => {
    expect(() => decodeUeb(b)).toThrow(LayoutInvalidError);
  });
});

describe('openUeb', () => {
  it('accepts the UEB whose hash the cap carries', () => {
    expect(openUeb(bytes, cap).hash).toEqual(cap.uebHash);
  });

  it('rejects bytes whose hash differs from the cap', () => {
    expect(() => openUeb(patched(50, [bytes[50]! ^ 1]), cap)).toThrow(IntegrityError);
  });

  it.each([
    ['k', { k: 2 }],
    ['n', { n: 8 }],
    ['size', { size: 5001 }],
  ])('rejects a cap whose %s disagrees with the UEB', (_f, change) => {
    expect(() => openUeb(bytes, { ...cap, ...change })).toThrow(IntegrityError);
  });

  it('rejects bytes of the wrong length as an integrity failure', () => {
    expect(() => openUeb(bytes.subarray(1), cap)).toThrow(IntegrityError);
  });
});
