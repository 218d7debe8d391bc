/**
 * ShareVerifier: checks one share's bytes, read by ranges, up to the UEB
 * (which the caller authenticated with openUeb against the cap's UEB hash).
 *
 *   setup:   block-tree root of this share (node 0 of its block tree) and the
 *            share-tree sibling path of leaf shnum; the recomputed share-tree
 *            root must equal ueb.shareRoot. The block-tree root is then trusted.
 *   segment: block i and its block-tree sibling path; the recomputed root must
 *            equal the trusted block-tree root.
 *   full:    (optional, for a checker) the three stored trees whole: every
 *            node is recomputed, so any changed byte anywhere in them is found.
 *
 * Ranges are returned in the order their bytes must be passed back.
 */
import { HASH_BYTES, bytesEqual } from '../crypto/index.js';
import { IntegrityError, InvalidArgumentError, PreconditionError, assertInt } from '../errors/index.js';
import { blockLength, blockRange, nodeRange, sameLayout, type FileLayout } from './layout.js';
import type { ByteRange } from './range.js';
import { blockHash } from './leaf-hash.js';
import { checkStoredTree, leafNodeIndex, proofIndices, rootFromProof } from './merkle.js';
import { layoutFromUeb, type Ueb } from './ueb.js';

export class ShareVerifier {
  private trustedRoot: Uint8Array | undefined;

  /** @throws InvalidArgumentError when layout is not the UEB's layout or shnum is out of range. */
  constructor(
    readonly layout: FileLayout,
    readonly ueb: Ueb,
    readonly shnum: number,
  ) {
    if (!sameLayout(layout, layoutFromUeb(ueb))) throw new InvalidArgumentError('layout does not match the UEB');
    assertInt('shnum', shnum, 0, layout.n - 1);
  }

  /** True once acceptSetup (or acceptFullTrees) succeeded. */
  get ready(): boolean {
    return this.trustedRoot !== undefined;
  }

  /** The authenticated block-tree root of this share (after setup). */
  get blockTreeRoot(): Uint8Array {
    return this.requireRoot();
  }

  /** [block-tree root, share-tree siblings of leaf shnum bottom-up]. */
  setupRanges(): ByteRange[] {
    const { blockTreeOffset, shareTreeOffset, n } = this.layout;
    return [nodeRange(blockTreeOffset, 0), ...proofIndices(this.shnum, n).map((i) => nodeRange(shareTreeOffset, i))];
  }

  /**
   * Authenticates this share's block-tree root from the setupRanges bytes.
   * @throws IntegrityError naming the share when the path does not lead to ueb.shareRoot.
   */
  acceptSetup(parts: readonly Uint8Array[]): void {
    const expected = this.setupRanges().length;
    if (!Array.isArray(parts) || parts.length !== expected) throw new IntegrityError(`share ${this.shnum}: setup needs ${expected} parts, got ${Array.isArray(parts) ? parts.length : typeof parts}`);
    const [root, ...siblings] = parts as Uint8Array[];
    const computed = rootFromProof('share', this.shnum, this.layout.n, root!, siblings);
    if (computed === null || !bytesEqual(computed, this.ueb.shareRoot)) {
      throw new IntegrityError(`share ${this.shnum}: block-tree root does not hash up to the UEB's share-tree root`);
    }
    this.trustedRoot = root!.slice();
  }

  /** [block i, block-tree siblings of leaf i bottom-up]. */
  segmentRanges(i: number): ByteRange[] {
    const block = blockRange(this.layout, i);
    return [block, ...proofIndices(i, this.layout.numSegments).map((j) => nodeRange(this.layout.blockTreeOffset, j))];
  }

  /**
   * Checks block i from the segmentRanges bytes and returns it.
   * @throws IntegrityError naming share and segment on any mismatch;
   *   PreconditionError before setup.
   */
  verifyBlock(i: number, parts: readonly Uint8Array[]): Uint8Array {
    const root = this.requireRoot();
    const len = blockLength(this.layout, i);
    const expected = proofIndices(i, this.layout.numSegments).length + 1;
    const where = `share ${this.shnum}, segment ${i}`;
    if (!Array.isArray(parts) || parts.length !== expected) throw new IntegrityError(`${where}: expected ${expected} parts, got ${Array.isArray(parts) ? parts.length : typeof parts}`);
    const [block, ...siblings] = parts as Uint8Array[];
    if (!(block instanceof Uint8Array) || block.length !== len) {
      throw new IntegrityError(`${where}: block is ${block instanceof Uint8Array ? block.length : typeof block} bytes, expected ${len}`);
    }
    const computed = rootFromProof('block', i, this.layout.numSegments, blockHash(block), siblings);
    if (computed === null || !bytesEqual(computed, root)) throw new IntegrityError(`${where}: block hash does not match the block tree`);
    return block;
  }

  /** The three stored trees whole: [block tree, share tree, ciphertext tree]. */
  fullTreeRanges(): ByteRange[] {
    const l = this.layout;
    return [
      { offset: l.blockTreeOffset, length: l.segmentTreeBytes },
      { offset: l.shareTreeOffset, length: l.shareTreeBytes },
      { offset: l.ciphertextTreeOffset, length: l.segmentTreeBytes },
    ];
  }

  /**
   * Checks every node of the three stored trees (for a checker that wants to
   * find any damage, not only what a download reads) and completes setup.
   * @throws IntegrityError naming the share and tree.
   */
  acceptFullTrees(parts: readonly Uint8Array[]): void {
    if (!Array.isArray(parts) || parts.length !== 3) throw new IntegrityError(`share ${this.shnum}: full check needs 3 trees, got ${Array.isArray(parts) ? parts.length : typeof parts}`);
    const [blockTree, shareTree, ciphertextTree] = parts as Uint8Array[];
    const { n, numSegments } = this.layout;
    const share = checkStoredTree('share', n, shareTree!, this.ueb.shareRoot);
    if ('problem' in share) throw new IntegrityError(`share ${this.shnum}: share tree: ${share.problem}`);
    const root = share.nodes[leafNodeIndex(this.shnum, n)]!;
    const block = checkStoredTree('block', numSegments, blockTree!, root);
    if ('problem' in block) throw new IntegrityError(`share ${this.shnum}: block tree: ${block.problem}`);
    const ct = checkStoredTree('ciphertext', numSegments, ciphertextTree!, this.ueb.ciphertextRoot);
    if ('problem' in ct) throw new IntegrityError(`share ${this.shnum}: ciphertext tree: ${ct.problem}`);
    this.trustedRoot = root.slice(0, HASH_BYTES);
  }

  private requireRoot(): Uint8Array {
    if (!this.trustedRoot) throw new PreconditionError(`share ${this.shnum}: acceptSetup must succeed before blocks are verified`);
    return this.trustedRoot;
  }
}
