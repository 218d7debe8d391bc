/**
 * The two kinds of CHK capability (DESIGN.md "Caps"). A read-cap holds the
 * read key and can decrypt; its verify-cap holds only the storage index and
 * can check every block, share and segment but never decrypt. Both carry the
 * UEB hash, which pins the codec parameters and every Merkle root.
 */

/** Bytes in a read key (XSalsa20 key). */
export const READ_KEY_BYTES = 32;
/** Bytes in a storage index (truncated tagged hash of the read key). */
export const STORAGE_INDEX_BYTES = 16;
/** Bytes in a UEB hash (tagged SHA-256 of the canonical UEB). */
export const UEB_HASH_BYTES = 32;
/** Largest k and n: defined by the codec (libs/erasure), re-exported for cap checks. */
export { MAX_SHARES } from '../erasure/index.js';
/** Largest file size a cap may state: sizes are JS numbers, so 2^53 - 1. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** Fields shared by both kinds of cap. */
export interface CapCommon {
  /** 32-byte tagged hash of the URI extension block. */
  uebHash: Uint8Array;
  /** Shares needed to recover the file, 1 ≤ k ≤ n. */
  k: number;
  /** Shares written, k ≤ n ≤ 256. */
  n: number;
  /** Plaintext size in bytes, 0 ≤ size ≤ 2^53 − 1. */
  size: number;
  /** Area code (3–8 decimal digits) of the grid holding the shares; absent means the holder's own grid. */
  areaCode?: string;
}

/** `URI:CHK:<readkey>:<ueb-hash>:<k>:<n>:<size>[:<area>]` — can decrypt. */
export interface ReadCap extends CapCommon {
  kind: 'read';
  /** 32-byte XSalsa20 key. Secret: never log it (use redactCap). */
  readKey: Uint8Array;
}

/** `URI:CHK-Verifier:<storage-index>:<ueb-hash>:<k>:<n>:<size>[:<area>]` — can verify, not decrypt. */
export interface VerifyCap extends CapCommon {
  kind: 'verify';
  /** 16-byte storage index, `storageIndexFromReadKey(readKey)`. */
  storageIndex: Uint8Array;
}

export type Cap = ReadCap | VerifyCap;
