/** Shared generators and fixed values for the caps tests. */
import fc from 'fast-check';
import type { ReadCap, VerifyCap } from '../../../libs/caps/index.js';

export const areaCodeArb = fc.stringMatching(/^[0-9]{3,8}$/);

/** k ≤ n, both in 1..256. */
export const knArb = fc
  .tuple(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 256 }))
  .map(([a, b]) => (a <= b ? { k: a, n: b } : { k: b, n: a }));

export const sizeArb = fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER));

export const readCapArb: fc.Arbitrary<ReadCap> = fc
  .record({
    readKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    uebHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    kn: knArb,
    size: sizeArb,
    areaCode: fc.option(areaCodeArb, { nil: undefined }),
  })
  .map(({ readKey, uebHash, kn, size, areaCode }) => {
    const cap: ReadCap = { kind: 'read', readKey, uebHash, k: kn.k, n: kn.n, size };
    if (areaCode !== undefined) cap.areaCode = areaCode;
    return cap;
  });

export const verifyCapArb: fc.Arbitrary<VerifyCap> = fc
  .record({
    storageIndex: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    uebHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    kn: knArb,
    size: sizeArb,
    areaCode: fc.option(areaCodeArb, { nil: undefined }),
  })
  .map(({ storageIndex, uebHash, kn, size, areaCode }) => {
    const cap: VerifyCap = { kind: 'verify', storageIndex, uebHash, k: kn.k, n: kn.n, size };
    if (areaCode !== undefined) cap.areaCode = areaCode;
    return cap;
  });

export const capArb = fc.oneof(readCapArb, verifyCapArb);

/** A fixed read key 0x00..0x1f and UEB hash 0x20..0x3f for example-based tests. */
export const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
export const UEB = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i);

export const READ_EXAMPLE: ReadCap = { kind: 'read', readKey: KEY, uebHash: UEB, k: 3, n: 10, size: 12345, areaCode: '212' };
