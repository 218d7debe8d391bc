/**
 * Leaf hashes of the block trees and the ciphertext tree. The share tree's
 * leaves are the block-tree roots themselves (already hashes under the
 * block-tree tags).
 *
 *   block leaf      = taggedHash('intergrid:block:v1', block bytes)
 *   ciphertext leaf = taggedHash('intergrid:ciphertext-segment:v1', ciphertext segment bytes)
 *
 * Position (segment index, share number) is bound by the leaf's place in its
 * tree, whose shape the UEB fixes.
 */
import { taggedHash } from '../crypto/index.js';

export const BLOCK_TAG = 'intergrid:block:v1';
export const CIPHERTEXT_SEGMENT_TAG = 'intergrid:ciphertext-segment:v1';

/** Leaf hash of one block (padding included: the block as stored). */
export function blockHash(block: Uint8Array): Uint8Array {
  return taggedHash(BLOCK_TAG, block);
}

/** Leaf hash of one ciphertext segment (its true length, no padding). */
export function ciphertextSegmentHash(ciphertext: Uint8Array): Uint8Array {
  return taggedHash(CIPHERTEXT_SEGMENT_TAG, ciphertext);
}
