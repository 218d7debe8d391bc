/**
 * BlockEncoder: the part of encoding that starts from ciphertext — steps 2–5
 * of docs/format.md "Encoding" and the trees built from them. FileEncoder
 * (upload) puts encryption in front of it; ShareRebuilder (repair) feeds it
 * verified ciphertext read back from the grid. The erasure code is
 * deterministic, so the same ciphertext always gives the same n blocks.
 *
 * Memory: the leaves kept for the trees, 32 bytes × (n + 1) × numSegments.
 */
import { HASH_BYTES } from '../crypto/index.js';
import { createCodec, type ErasureCodec } from '../erasure/index.js';
import { InvalidArgumentError, PreconditionError } from '../errors/index.js';
import { blockLength, segmentLength, type FileLayout } from './layout.js';
import { blockHash, ciphertextSegmentHash } from './leaf-hash.js';
import { buildTree, serializeTree } from './merkle.js';

/** The trees of an encoded file. */
export interface EncodedTrees {
  ciphertextTree: Uint8Array;
  shareTree: Uint8Array;
  ciphertextRoot: Uint8Array;
  shareRoot: Uint8Array;
  /** Share `shnum`'s block tree, serialized (rebuilt per call: n full trees would double the memory). */
  blockTree(shnum: number): Uint8Array;
}

export class BlockEncoder {
  private readonly codec: ErasureCodec;
  private readonly ciphertextLeaves: Uint8Array;
  private readonly blockLeaves: Uint8Array[];
  private nextSegment = 0;

  /** `layout` must already be checked (planFile's result). */
  constructor(readonly layout: FileLayout) {
    this.codec = createCodec(layout.k, layout.n);
    this.ciphertextLeaves = new Uint8Array(layout.numSegments * HASH_BYTES);
    this.blockLeaves = Array.from({ length: layout.n }, () => new Uint8Array(layout.numSegments * HASH_BYTES));
  }

  /** Segments encoded so far (the index the next encode call encodes). */
  get segmentsEncoded(): number {
    return this.nextSegment;
  }

  /** A zeroed buffer of k·B bytes for segment `i`: the ciphertext goes at its start, the rest is the padding. */
  paddedBuffer(i: number): Uint8Array {
    return new Uint8Array(this.layout.k * blockLength(this.layout, i));
  }

  /**
   * Erasure-codes the next segment, whose ciphertext fills the start of
   * `padded` (from paddedBuffer) and is zero after. Returns n blocks, block s
   * for share s (the k data blocks are views of `padded`).
   * @throws PreconditionError when every segment was already encoded.
   */
  encode(padded: Uint8Array): Uint8Array[] {
    const i = this.nextSegment;
    const { k, n, numSegments } = this.layout;
    if (i >= numSegments) throw new PreconditionError(`all ${numSegments} segments are already encoded`);
    const b = blockLength(this.layout, i);
    if (padded.length !== k * b) throw new InvalidArgumentError(`segment ${i} needs a ${k * b}-byte padded buffer, got ${padded.length}`);
    this.ciphertextLeaves.set(ciphertextSegmentHash(padded.subarray(0, segmentLength(this.layout, i))), i * HASH_BYTES);
    const data = Array.from({ length: k }, (_, j) => padded.subarray(j * b, (j + 1) * b));
    const blocks = [...data, ...this.codec.encode(data)];
    for (let s = 0; s < n; s++) this.blockLeaves[s]!.set(blockHash(blocks[s]!), i * HASH_BYTES);
    this.nextSegment = i + 1;
    return blocks;
  }

  /** The trees, once every segment is encoded. @throws PreconditionError when segments are missing. */
  trees(): EncodedTrees {
    const { numSegments, n } = this.layout;
    if (this.nextSegment !== numSegments) throw new PreconditionError(`trees after ${this.nextSegment} of ${numSegments} segments`);
    const ciphertextTree = serializeTree(buildTree('ciphertext', leavesOf(this.ciphertextLeaves)));
    const shareNodes = buildTree('share', this.blockLeaves.map((l) => buildTree('block', leavesOf(l))[0]!));
    return {
      ciphertextTree,
      shareTree: serializeTree(shareNodes),
      ciphertextRoot: ciphertextTree.slice(0, HASH_BYTES),
      shareRoot: shareNodes[0]!,
      blockTree: (shnum) => {
        if (!Number.isSafeInteger(shnum) || shnum < 0 || shnum >= n) throw new InvalidArgumentError(`shnum must be in [0, ${n - 1}], got ${String(shnum)}`);
        return serializeTree(buildTree('block', leavesOf(this.blockLeaves[shnum]!)));
      },
    };
  }
}

/** Share `shnum`'s trailer: block tree ‖ share tree ‖ ciphertext tree ‖ UEB (docs/format.md "Share layout"). */
export function shareTrailer(trees: EncodedTrees, ueb: Uint8Array, shnum: number): Uint8Array {
  const parts = [trees.blockTree(shnum), trees.shareTree, trees.ciphertextTree, ueb];
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let off = 0;
  for (const part of parts) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

function leavesOf(flat: Uint8Array): Uint8Array[] {
  return Array.from({ length: flat.length / HASH_BYTES }, (_, i) => flat.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
}
