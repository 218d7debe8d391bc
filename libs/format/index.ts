/**
 * libs/format — the CHK file format (Tahoe CHK re-based on XSalsa20 and
 * Reed–Solomon): segments, Merkle trees, UEB, share layout, the streaming
 * encoder and the download-side verifier/decoder. docs/format.md is the spec.
 * The public names, by hand.
 */
export {
  DEFAULT_K,
  DEFAULT_N,
  DEFAULT_HAPPY,
  DEFAULT_SEGMENT_SIZE,
  DEFAULT_PARAMS,
  MIN_SEGMENT_SIZE,
  MIN_CONFIG_SEGMENT_SIZE,
  MAX_SEGMENT_SIZE,
  MAX_SEGMENT_MESSAGE_BYTES,
  MAX_PROOF_HASHES,
  MAX_SHARES,
  validateParams,
} from './params.js';
export type { CodecParams } from './params.js';
export {
  SHARE_HEADER_BYTES,
  UEB_BYTES,
  FORMAT_VERSION,
  planFile,
  segmentLength,
  segmentOffset,
  blockLength,
  blockRange,
  layoutUebRange,
  trailerBytes,
  sameLayout,
} from './layout.js';
export type { FileLayout } from './layout.js';
export {
  buildTree,
  treeRoot,
  serializeTree,
  proofIndices,
  rootFromProof,
  verifyProof,
  checkStoredTree,
  nextPowerOfTwo,
  treeNodeCount,
  treeBytes,
  leafNodeIndex,
  paddingLeaf,
  hashNode,
  nodeTag,
  padTag,
} from './merkle.js';
export type { TreeKind } from './merkle.js';
export { BLOCK_TAG, CIPHERTEXT_SEGMENT_TAG, blockHash, ciphertextSegmentHash } from './leaf-hash.js';
export { UEB_TAG, UEB_VERSION, encodeUeb, decodeUeb, hashUeb, openUeb, layoutFromUeb } from './ueb.js';
export type { Ueb, UebRoots } from './ueb.js';
export { SHARE_VERSION, encodeShareHeader, parseShareHeader, uebRange, checkShareHeader } from './share-layout.js';
export type { ShareHeader } from './share-layout.js';
export { READ_KEY_BYTES, segmentNonce, encryptSegment, decryptSegment } from './segment-cipher.js';
export { FileEncoder } from './file-encoder.js';
export type { EncodedFile } from './file-encoder.js';
export { BlockEncoder, shareTrailer } from './block-encoder.js';
export type { EncodedTrees } from './block-encoder.js';
export { ShareRebuilder } from './share-rebuilder.js';
export { ShareVerifier } from './share-verifier.js';
export { ciphertextProofRanges, decodeSegment, verifyCiphertextSegment } from './segment-decoder.js';
export { segmentsForRange, clampRange, rangeFromWire, rangeToWire } from './range.js';
export type { ByteRange, SegmentSpan } from './range.js';
export { CONVERGENT_KEY_TAG, ConvergentKeyHasher, convergentReadKey } from './convergence.js';
export { SegmentStreamChecker } from './segment-stream.js';
export type { SegmentChunkInput, AcceptedChunk } from './segment-stream.js';
