/**
 * libs/erasure — systematic k-of-n Reed–Solomon (GF(2^8)) for CHK segments.
 * The public names, by hand.
 */
export { createCodec, MAX_SHARES, MAX_CALL_BYTES } from './erasure-codec.js';
export type { ErasureCodec } from './erasure-codec.js';
export { wasmMemoryBytes } from './wasm-module.js';
