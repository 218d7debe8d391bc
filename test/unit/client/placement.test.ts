import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { permutedServers, happinessOf, type StoragePeer } from '../../../libs/client/index.js';
import { taggedHash, toHex } from '../../../libs/crypto/index.js';

const servers = Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, publicKey: taggedHash('test-key', Uint8Array.of(i)) }));

describe('permutedServers', () => {
  it('orders servers by taggedHash(intergrid:permute:v1, storageIndex, key)', () => {
    const si = new Uint8Array(16).fill(7);
    const got = permutedServers(si, servers).map((s) => s.name);
    const want = [...servers]
      .sort((a, b) => {
        const ka = toHex(taggedHash('intergrid:permute:v1', si, a.publicKey));
        const kb = toHex(taggedHash('intergrid:permute:v1', si, b.publicKey));
        return ka < kb ? -1 : 1;
      })
      .map((s) => s.name);
    expect(got).toEqual(want);
  });

  it('is a permutation that does not depend on the input order', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 9 }), (si, rot) => {
        const rotated = [...servers.slice(rot), ...servers.slice(0, rot)];
        const a = permutedServers(si, servers).map((s) => s.name);
        expect(permutedServers(si, rotated).map((s) => s.name)).toEqual(a);
        expect([...a].sort()).toEqual(servers.map((s) => s.name).sort());
      }),
    );
  });

  it('gives different files different orders', () => {
    const orders = new Set(Array.from({ length: 20 }, (_, i) => permutedServers(new Uint8Array(16).fill(i), servers)[0]!.name));
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe('happinessOf', () => {
  it('counts distinct servers, not shares', () => {
    const [a, b] = [{} as StoragePeer, {} as StoragePeer];
    expect(happinessOf(new Map([[0, a], [1, a], [2, b]]))).toBe(2);
    expect(happinessOf(new Map())).toBe(0);
  });
});
