import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taggedHash } from '../../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import {
  buildTree,
  checkStoredTree,
  hashNode,
  leafNodeIndex,
  nextPowerOfTwo,
  paddingLeaf,
  proofIndices,
  rootFromProof,
  serializeTree,
  treeNodeCount,
  treeRoot,
  verifyProof,
  type TreeKind,
} from '../../../libs/format/index.js';

const leaf = (i: number): Uint8Array => taggedHash('test:leaf', new Uint8Array([i & 0xff, i >> 8]));
const leavesArb = fc.integer({ min: 1, max: 70 }).map((count) => Array.from({ length: count }, (_, i) => leaf(i)));
const kindArb = fc.constantFrom<TreeKind>('block', 'share', 'ciphertext');

describe('Merkle tree shape', () => {
  it('stores 2P − 1 nodes breadth-first with node i = H(node 2i+1, node 2i+2)', () => {
    fc.assert(
      fc.property(kindArb, leavesArb, (kind, leaves) => {
        const nodes = buildTree(kind, leaves);
        const p = nextPowerOfTwo(leaves.length);
        expect(nodes.length).toBe(2 * p - 1);
        expect(nodes.length).toBe(treeNodeCount(leaves.length));
        for (let i = 0; i < p - 1; i++) expect(nodes[i]).toEqual(hashNode(kind, nodes[2 * i + 1]!, nodes[2 * i + 2]!));
        leaves.forEach((l, j) => expect(nodes[leafNodeIndex(j, leaves.length)]).toEqual(l));
        for (let j = leaves.length; j < p; j++) expect(nodes[p - 1 + j]).toEqual(paddingLeaf(kind));
      }),
    );
  });

  it('makes a one-leaf tree whose root is the leaf', () => {
    expect(treeRoot('block', [leaf(1)])).toEqual(leaf(1));
    expect(proofIndices(0, 1)).toEqual([]);
  });

  it('gives different roots to the three tree kinds over the same leaves', () => {
    const leaves = [leaf(1), leaf(2), leaf(3)];
    const roots = (['block', 'share', 'ciphertext'] as const).map((k) => Buffer.from(treeRoot(k, leaves)).toString('hex'));
    expect(new Set(roots).size).toBe(3);
  });

  it('uses padding distinct from every tag-hashed leaf and per tree kind', () => {
    expect(paddingLeaf('block')).not.toEqual(paddingLeaf('share'));
    expect(paddingLeaf('block')).toEqual(taggedHash('intergrid:block-tree:pad:v1'));
  });

  it('rejects an empty tree', () => {
    expect(() => buildTree('block', [])).toThrow(InvalidArgumentError);
  });
});

describe('Merkle proofs', () => {
  it('proves every leaf of every tree', () => {
    fc.assert(
      fc.property(kindArb, leavesArb, (kind, leaves) => {
        const nodes = buildTree(kind, leaves);
        leaves.forEach((l, j) => {
          const siblings = proofIndices(j, leaves.length).map((i) => nodes[i]!);
          expect(verifyProof(kind, j, leaves.length, l, siblings, nodes[0]!)).toBe(true);
        });
      }),
    );
  });

  it('lists log2(P) siblings bottom-up, none of them on the leaf’s own path', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.nat(), (count, pick) => {
        const j = pick % count;
        const idx = proofIndices(j, count);
        expect(idx.length).toBe(Math.log2(nextPowerOfTwo(count)));
        let node = leafNodeIndex(j, count);
        for (const sib of idx) {
          expect(sib).not.toBe(node);
          expect(Math.floor((sib - 1) / 2)).toBe(Math.floor((node - 1) / 2)); // same parent
          node = Math.floor((node - 1) / 2);
        }
        expect(node).toBe(0);
      }),
    );
  });

  it('rejects a proof for a different leaf value, index, sibling or length', () => {
    fc.assert(
      fc.property(kindArb, leavesArb.filter((l) => l.length >= 2), fc.nat(), (kind, leaves, pick) => {
        const count = leaves.length;
        const j = pick % count;
        const nodes = buildTree(kind, leaves);
        const siblings = proofIndices(j, count).map((i) => nodes[i]!);
        const root = nodes[0]!;
        expect(verifyProof(kind, j, count, leaf(9999), siblings, root)).toBe(false);
        expect(verifyProof(kind, (j + 1) % count, count, leaves[j]!, siblings, root)).toBe(false);
        const bad = siblings.map((s) => s.slice());
        bad[0]![0]! ^= 1;
        expect(verifyProof(kind, j, count, leaves[j]!, bad, root)).toBe(false);
        expect(verifyProof(kind, j, count, leaves[j]!, siblings.slice(1), root)).toBe(false);
        expect(rootFromProof(kind, j, count, leaves[j]!, [...siblings, root])).toBeNull();
        const other: TreeKind = kind === 'block' ? 'share' : 'block';
        expect(verifyProof(other, j, count, leaves[j]!, siblings, root)).toBe(false);
      }),
    );
  });

  it('rejects a leaf index outside the tree', () => {
    expect(() => proofIndices(3, 3)).toThrow(InvalidArgumentError);
    expect(() => proofIndices(-1, 3)).toThrow(InvalidArgumentError);
  });
});

describe('checkStoredTree', () => {
  it('accepts the serialized tree and finds any flipped bit in it', () => {
    fc.assert(
      fc.property(kindArb, leavesArb, fc.nat(), (kind, leaves, bitPick) => {
        const nodes = buildTree(kind, leaves);
        const stored = serializeTree(nodes);
        expect('nodes' in checkStoredTree(kind, leaves.length, stored, nodes[0]!)).toBe(true);
        const bit = bitPick % (stored.length * 8);
        stored[bit >> 3]! ^= 1 << (bit & 7);
        expect('problem' in checkStoredTree(kind, leaves.length, stored, nodes[0]!)).toBe(true);
      }),
    );
  });
});
