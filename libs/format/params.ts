/**
 * Codec parameters of a CHK file: k-of-n erasure coding over segments of
 * `segmentSize` plaintext bytes (DESIGN.md "The file format"). Defaults and
 * bounds live here so the client (its config schema), the encoder, the
 * decoder, the bench and the docs agree on one set:
 *
 *   k, n         1 ≤ k ≤ n ≤ MAX_SHARES (256, libs/erasure)
 *   segmentSize  MIN_SEGMENT_SIZE (1) … MAX_SEGMENT_SIZE (64 MiB) in a file;
 *                a client config also needs ≥ MIN_CONFIG_SEGMENT_SIZE (1 KiB)
 *   n · ⌈segmentSize / k⌉ ≤ MAX_CALL_BYTES (one erasure call, libs/erasure)
 */
import { HASH_BYTES } from '../crypto/index.js';
import { MAX_CALL_BYTES, MAX_SHARES } from '../erasure/index.js';
import { InvalidArgumentError, LayoutInvalidError, type IntergridError } from '../errors/index.js';

/** Largest k and n (defined by the codec, libs/erasure): part of this set of bounds. */
export { MAX_SHARES };

/** Shares needed to recover a file. */
export const DEFAULT_K = 3;
/** Shares written per file. */
export const DEFAULT_N = 10;
/** Distinct servers an upload must reach (servers-of-happiness). */
export const DEFAULT_HAPPY = 7;
/** Plaintext bytes per segment (1 MiB until the bench picks). */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;
/** Smallest segment size of a file (validateParams). */
export const MIN_SEGMENT_SIZE = 1;
/**
 * Smallest segment size a client config (client.json `encoding.segmentSize`)
 * may choose. Below 1 KiB the per-segment costs (a ciphertext hash and a
 * proof per segment, one message per segment on every hop) outweigh the
 * data. Files with smaller segments are still valid and read normally; only
 * an explicit upload option (tests) writes them.
 */
export const MIN_CONFIG_SEGMENT_SIZE = 1024;
/**
 * Largest segment size. Segments are held in memory whole while they are
 * encoded or decoded, and the UEB stores segment and block sizes as u32.
 */
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;
/**
 * Most hashes in one ciphertext-tree proof: one sibling per tree level, and a
 * file has fewer than 2^53 segments (sizes are safe integers), so 64 bounds it.
 */
export const MAX_PROOF_HASHES = 64;
/**
 * Largest SegmentChunk message (proto/contact_point.proto, also what the
 * gateway forwards): one ciphertext segment of MAX_SEGMENT_SIZE bytes (the
 * cipher adds none), its proof (each hash with its protobuf tag and length)
 * and the message's own fields and framing (index, lengths, oneof: under 1 KiB).
 * THE message limit of every hop that carries segments: the contact point's
 * and gateway's servers (send) and the gateway's channel to contact points
 * and the client's to its gateway (receive). libs/rpc's 16 MiB default is
 * below it.
 */
export const MAX_SEGMENT_MESSAGE_BYTES = MAX_SEGMENT_SIZE + MAX_PROOF_HASHES * (HASH_BYTES + 2) + 1024;

/** How a file is split and coded. */
export interface CodecParams {
  /** Shares needed to recover the file, 1 ≤ k ≤ n. */
  k: number;
  /** Shares written, k ≤ n ≤ 256. */
  n: number;
  /** Plaintext bytes per segment, MIN_SEGMENT_SIZE ≤ segmentSize ≤ MAX_SEGMENT_SIZE. */
  segmentSize: number;
}

/** The default parameters (3-of-10, 1 MiB segments). */
export const DEFAULT_PARAMS: Readonly<CodecParams> = Object.freeze({ k: DEFAULT_K, n: DEFAULT_N, segmentSize: DEFAULT_SEGMENT_SIZE });

/**
 * Checks codec parameters; returns a plain copy.
 * @throws InvalidArgumentError naming the bad field (LayoutInvalidError with `untrusted`,
 *   for parameters read from stored bytes).
 */
export function validateParams(params: CodecParams, untrusted = false): CodecParams {
  const fail = (msg: string): IntergridError => (untrusted ? new LayoutInvalidError(msg) : new InvalidArgumentError(msg));
  const { k, n, segmentSize } = params ?? ({} as CodecParams);
  if (!isIntIn(k, 1, MAX_SHARES)) throw fail(`k must be an integer in [1, ${MAX_SHARES}], got ${String(k)}`);
  if (!isIntIn(n, 1, MAX_SHARES)) throw fail(`n must be an integer in [1, ${MAX_SHARES}], got ${String(n)}`);
  if (n < k) throw fail(`n must be >= k, got k=${k}, n=${n}`);
  if (!isIntIn(segmentSize, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)) {
    throw fail(`segmentSize must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}], got ${String(segmentSize)}`);
  }
  // One erasure call handles n blocks of one segment; keep it inside the codec's bound.
  if (n * Math.ceil(segmentSize / k) > MAX_CALL_BYTES) {
    throw fail(`segmentSize ${segmentSize} with k=${k}, n=${n} gives ${n * Math.ceil(segmentSize / k)} coded bytes per segment, over ${MAX_CALL_BYTES}`);
  }
  return { k, n, segmentSize };
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}
