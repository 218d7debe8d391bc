import { describe, expect, it } from 'vitest';
import { LayoutInvalidError } from '../../../libs/errors/index.js';
import { SHARE_HEADER_BYTES, checkShareHeader, encodeShareHeader, parseShareHeader, planFile, uebRange, UEB_BYTES } from '../../../libs/format/index.js';

const layout = planFile(5000, { k: 3, n: 7, segmentSize: 1024 });
const header = encodeShareHeader(layout, 4);

describe('share header', () => {
  it('is SHARE_HEADER_BYTES long and parses back to the layout’s offsets', () => {
    expect(header.length).toBe(SHARE_HEADER_BYTES);
    const h = parseShareHeader(header);
    expect(h).toMatchObject({
      version: 1,
      shnum: 4,
      k: 3,
      n: 7,
      blockSize: layout.blockSize,
      tailBlockSize: layout.tailBlockSize,
      numSegments: layout.numSegments,
      blockTreeOffset: layout.blockTreeOffset,
      uebOffset: layout.uebOffset,
      shareSize: layout.shareSize,
    });
    expect(uebRange(h)).toEqual({ offset: layout.uebOffset, length: UEB_BYTES });
    expect(() => checkShareHeader(h, layout, 4)).not.toThrow();
  });

  it('starts with the ASCII magic IGSH and version 1', () => {
    expect(Buffer.from(header.subarray(0, 6)).toString('hex')).toBe('494753480001');
  });

  it('finds any single flipped bit, by parse or by the check against the layout', () => {
    for (let bit = 0; bit < SHARE_HEADER_BYTES * 8; bit++) {
      const b = header.slice();
      b[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => checkShareHeader(parseShareHeader(b), layout, 4)).toThrow(LayoutInvalidError);
    }
  });

  it('rejects a header shorter than SHARE_HEADER_BYTES', () => {
    expect(() => parseShareHeader(header.subarray(0, SHARE_HEADER_BYTES - 1))).toThrow(LayoutInvalidError);
  });

  it('rejects the header of another share number', () => {
    expect(() => checkShareHeader(parseShareHeader(encodeShareHeader(layout, 3)), layout, 4)).toThrow(/shnum is 3/);
  });

  it('rejects the header of another file layout', () => {
    const other = planFile(6000, { k: 3, n: 7, segmentSize: 1024 });
    expect(() => checkShareHeader(parseShareHeader(encodeShareHeader(other, 4)), layout, 4)).toThrow(LayoutInvalidError);
  });
});
