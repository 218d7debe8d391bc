/**
 * Binary Merkle trees over 32-byte leaf hashes, stored whole, breadth-first
 * (Tahoe's IncompleteHashTree layout):
 *
 *   P = nextPowerOfTwo(leafCount)            (P ≥ 1)
 *   nodes = 2P − 1, 32 bytes each; node 0 is the root
 *   node i has children 2i+1 and 2i+2; leaf j is node P − 1 + j
 *   leaves j ≥ leafCount are padding:  pad  = taggedHash('intergrid:<kind>-tree:pad:v1')
 *   internal nodes:                    node = taggedHash('intergrid:<kind>-tree:node:v1', left ‖ right)
 *
 * Each of the format's three trees ('block', 'share', 'ciphertext') has its own
 * tags, so a node of one tree can never be presented as a node of another,
 * and the padding value can never equal a real leaf (those are hashed under
 * other tags by their owners). A proof for leaf j is the list of sibling nodes
 * from the leaf up to (not including) the root.
 */
import { HASH_BYTES, bytesEqual, taggedHash } from '../crypto/index.js';
import { InvalidArgumentError, assertInt } from '../errors/index.js';

/** The three trees of a CHK file. */
export type TreeKind = 'block' | 'share' | 'ciphertext';

/** Tag of the internal nodes of a tree of this kind. */
export function nodeTag(kind: TreeKind): string {
  return `intergrid:${kind}-tree:node:v1`;
}

/** Tag of the padding leaves of a tree of this kind. */
export function padTag(kind: TreeKind): string {
  return `intergrid:${kind}-tree:pad:v1`;
}

const padCache = new Map<TreeKind, Uint8Array>();

/** The padding leaf of a tree of this kind (a constant). */
export function paddingLeaf(kind: TreeKind): Uint8Array {
  let p = padCache.get(kind);
  if (!p) {
    p = taggedHash(padTag(kind));
    padCache.set(kind, p);
  }
  return p;
}

/** Hash of an internal node from its two children. */
export function hashNode(kind: TreeKind, left: Uint8Array, right: Uint8Array): Uint8Array {
  return taggedHash(nodeTag(kind), left, right);
}

/** Smallest power of two ≥ max(1, n). */
export function nextPowerOfTwo(n: number): number {
  assertInt('n', n, 0);
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Nodes in the full tree over `leafCount` leaves: 2·nextPowerOfTwo(leafCount) − 1. */
export function treeNodeCount(leafCount: number): number {
  return 2 * nextPowerOfTwo(leafCount) - 1;
}

/** Bytes of the full tree over `leafCount` leaves as stored in a share. */
export function treeBytes(leafCount: number): number {
  return treeNodeCount(leafCount) * HASH_BYTES;
}

/** Node index of leaf `leafIndex` in the tree over `leafCount` leaves. */
export function leafNodeIndex(leafIndex: number, leafCount: number): number {
  checkLeaf(leafIndex, leafCount);
  return nextPowerOfTwo(leafCount) - 1 + leafIndex;
}

/**
 * Node indices of the sibling path of leaf `leafIndex`, bottom-up (leaf's
 * sibling first, a child of the root last). Empty when the tree has one node.
 * @throws InvalidArgumentError unless 0 ≤ leafIndex < leafCount.
 */
export function proofIndices(leafIndex: number, leafCount: number): number[] {
  let i = leafNodeIndex(leafIndex, leafCount);
  const out: number[] = [];
  while (i > 0) {
    out.push(i % 2 === 1 ? i + 1 : i - 1);
    i = Math.floor((i - 1) / 2);
  }
  return out;
}

/**
 * Builds the full tree over `leaves` (each 32 bytes), padded to a power of two.
 * Returns the nodes breadth-first; node 0 is the root.
 * @throws InvalidArgumentError when there are no leaves or one is not 32 bytes.
 */
export function buildTree(kind: TreeKind, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length === 0) throw new InvalidArgumentError('a Merkle tree needs at least one leaf, got 0');
  const p = nextPowerOfTwo(leaves.length);
  const nodes = new Array<Uint8Array>(2 * p - 1);
  const pad = paddingLeaf(kind);
  for (let j = 0; j < p; j++) {
    const leaf = j < leaves.length ? leaves[j]! : pad;
    if (leaf.length !== HASH_BYTES) throw new InvalidArgumentError(`leaf ${j} must be ${HASH_BYTES} bytes, got ${leaf.length}`);
    nodes[p - 1 + j] = leaf;
  }
  for (let i = p - 2; i >= 0; i--) nodes[i] = hashNode(kind, nodes[2 * i + 1]!, nodes[2 * i + 2]!);
  return nodes;
}

/** The root of the tree over `leaves`. */
export function treeRoot(kind: TreeKind, leaves: readonly Uint8Array[]): Uint8Array {
  return buildTree(kind, leaves)[0]!;
}

/** Concatenates tree nodes into the stored form (node i at byte 32·i). */
export function serializeTree(nodes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nodes.length * HASH_BYTES);
  nodes.forEach((n, i) => out.set(n, i * HASH_BYTES));
  return out;
}

/**
 * Recomputes the root from a leaf hash and its sibling path (as listed by
 * proofIndices). Returns null when the path has the wrong shape.
 */
export function rootFromProof(
  kind: TreeKind,
  leafIndex: number,
  leafCount: number,
  leafHash: Uint8Array,
  siblings: readonly Uint8Array[],
): Uint8Array | null {
  const indices = proofIndices(leafIndex, leafCount);
  if (!Array.isArray(siblings) || siblings.length !== indices.length || !isHash(leafHash)) return null;
  let node = leafHash;
  let i = leafNodeIndex(leafIndex, leafCount);
  for (const sib of siblings) {
    if (!isHash(sib)) return null;
    node = i % 2 === 1 ? hashNode(kind, node, sib) : hashNode(kind, sib, node);
    i = Math.floor((i - 1) / 2);
  }
  return node;
}

/** True when `siblings` proves `leafHash` is leaf `leafIndex` of the tree with root `root`. */
export function verifyProof(
  kind: TreeKind,
  leafIndex: number,
  leafCount: number,
  leafHash: Uint8Array,
  siblings: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromProof(kind, leafIndex, leafCount, leafHash, siblings);
  return computed !== null && bytesEqual(computed, root);
}

/**
 * Checks a stored full tree (bytes as serializeTree writes them) against a
 * trusted root: every internal node must be the hash of its children, every
 * padding leaf the padding constant, and node 0 the root. Returns the nodes,
 * or a description of the first problem.
 */
export function checkStoredTree(kind: TreeKind, leafCount: number, stored: Uint8Array, root: Uint8Array): { nodes: Uint8Array[] } | { problem: string } {
  const count = treeNodeCount(leafCount);
  if (!(stored instanceof Uint8Array) || stored.length !== count * HASH_BYTES) {
    return { problem: `tree is ${stored instanceof Uint8Array ? stored.length : typeof stored} bytes, expected ${count * HASH_BYTES}` };
  }
  const nodes = Array.from({ length: count }, (_, i) => stored.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  const p = nextPowerOfTwo(leafCount);
  const pad = paddingLeaf(kind);
  for (let j = leafCount; j < p; j++) {
    if (!bytesEqual(nodes[p - 1 + j]!, pad)) return { problem: `padding leaf ${j} (node ${p - 1 + j}) is not the padding constant` };
  }
  for (let i = p - 2; i >= 0; i--) {
    if (!bytesEqual(nodes[i]!, hashNode(kind, nodes[2 * i + 1]!, nodes[2 * i + 2]!))) return { problem: `node ${i} is not the hash of its children` };
  }
  if (!bytesEqual(nodes[0]!, root)) return { problem: 'root does not match the trusted root' };
  return { nodes };
}

function isHash(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === HASH_BYTES;
}

function checkLeaf(leafIndex: number, leafCount: number): void {
  assertInt('leafCount', leafCount, 1);
  assertInt('leafIndex', leafIndex, 0, leafCount - 1);
}
