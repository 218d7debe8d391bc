/**
 * The order a download tries share copies in (libs/client/share-map.ts
 * readOrder): primary shares first, so a segment read from the k primaries
 * needs no Reed–Solomon decoding; a caller's preferred servers before that.
 */
import { describe, expect, it } from 'vitest';
import { readOrder, type ShareLocation } from '../../../libs/client/share-map.js';
import type { StoragePeer } from '../../../libs/client/storage-peer.js';

const server = (name: string) => ({ name, label: name }) as unknown as StoragePeer;
const loc = (name: string, shnum: number): ShareLocation => ({ server: server(name), shnum, size: 100 });

describe('readOrder', () => {
  // Answer order: the fastest servers hold parity shares.
  const answered = [loc('s7', 7), loc('s4', 4), loc('s2', 2), loc('s9', 9), loc('s0', 0), loc('s1', 1)];

  it('puts the primary shares first, keeping answer order within each group', () => {
    expect(readOrder(answered, 3).map((l) => l.shnum)).toEqual([2, 0, 1, 7, 4, 9]);
  });

  it('puts copies on preferred servers before any primary', () => {
    expect(readOrder(answered, 3, ['s9', 's4']).map((l) => l.shnum)).toEqual([9, 4, 2, 0, 1, 7]);
  });

  it('does not reorder the caller’s list', () => {
    const copy = [...answered];
    readOrder(answered, 3);
    expect(answered).toEqual(copy);
  });
});
