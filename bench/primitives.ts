/**
 * Primitive throughputs, single thread, in MB/s (10^6 bytes per second) of
 * the input each primitive sees on the data path. Returns figures, never prints
 * (bench/run.ts prints). docs/erasure.md records measured values.
 *
 * The "primitive bound" is what one core could reach on upload if encrypting,
 * hashing and erasure-coding were all it did, per plaintext byte of a k-of-n
 * file (Tahoe's three trees, DESIGN.md "The file format"):
 *
 *   bound = 1 / ( 1/xsalsa + (1 + n/k)/sha + 1/rsEncode )
 *
 * - XSalsa20 sees each plaintext byte once;
 * - SHA-256 sees the ciphertext once (ciphertext-tree leaves) and every block of
 *   every share, n/k bytes per plaintext byte (block-tree leaves); tree nodes
 *   are 64-byte inputs per leaf, negligible next to 1 MiB leaves;
 * - RS encode is measured per byte of segment (data) input.
 * The download bound (all k data blocks present, so no decode: systematic) is
 *   1 / ( 1/xsalsa + 2/sha )   — k blocks (= 1 byte per plaintext byte) and the ciphertext segment are hashed.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes, taggedHash, xsalsa20Xor } from '../libs/crypto/index.js';
import { createCodec } from '../libs/erasure/index.js';

const MiB = 1024 * 1024;
const K = 3;
const N = 10;

export interface BenchPrimitivesOptions {
  /** Minimum MiB of input per measurement (the pure-JS cipher gets a quarter). Default 32. */
  mib?: number;
  /** Minimum seconds per measurement, for stable figures on fast primitives. Default 0.3. */
  seconds?: number;
}

/** MB/s for `op`, which consumes `bytesPerOp` bytes, run until both floors are met. */
function rate(bytesPerOp: number, minBytes: number, minSeconds: number, op: () => void): number {
  op(); // warm-up: JIT, wasm instantiation, scratch buffers
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  while (bytes < minBytes || elapsed < minSeconds * 1000) {
    op();
    bytes += bytesPerOp;
    elapsed = performance.now() - start;
  }
  return bytes / 1e6 / (elapsed / 1000);
}

type StreamXor = (key: Uint8Array, nonce: Uint8Array, src: Uint8Array, dst: Uint8Array) => Uint8Array;

/** @stablelib/xsalsa20 is a dev dependency: absent in a production install, then skipped. */
async function loadStablelib(): Promise<StreamXor | undefined> {
  try {
    const mod = (await import('@stablelib/xsalsa20')) as { streamXOR: StreamXor };
    return mod.streamXOR;
  } catch {
    return undefined;
  }
}

/**
 * Measures the data-path primitives over 1 MiB buffers (3-of-10 for RS).
 * Keys of the result are human-readable names; all values are MB/s except the
 * one whose name ends in "(x)", a ratio. Takes a few seconds.
 */
export async function benchPrimitives(opts: BenchPrimitivesOptions = {}): Promise<Record<string, number>> {
  const minBytes = (opts.mib ?? 32) * MiB;
  const minSeconds = opts.seconds ?? 0.3;
  const out: Record<string, number> = {};

  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const buf = randomBytes(MiB);
  const dst = new Uint8Array(MiB);

  const xsalsa = rate(MiB, minBytes, minSeconds, () => xsalsa20Xor(key, nonce, buf, dst));
  out['xsalsa20 (sodium)'] = xsalsa;

  const stablelib = await loadStablelib();
  if (stablelib) {
    const js = rate(MiB, Math.max(MiB, minBytes / 4), minSeconds, () => stablelib(key, nonce, buf, dst));
    out['xsalsa20 (@stablelib, pure JS)'] = js;
    out['xsalsa20 sodium / stablelib (x)'] = xsalsa / js;
  }

  const sha = rate(MiB, minBytes, minSeconds, () => taggedHash('intergrid:bench:v1', buf));
  out['sha-256 (taggedHash)'] = sha;

  // One 1 MiB segment split into k equal blocks (the last zero-padded), as the format does.
  const codec = createCodec(K, N);
  const blockSize = Math.ceil(MiB / K);
  const padded = new Uint8Array(blockSize * K);
  padded.set(buf);
  const data = Array.from({ length: K }, (_, i) => padded.subarray(i * blockSize, (i + 1) * blockSize));
  const rsEncode = rate(MiB, minBytes, minSeconds, () => codec.encode(data));
  out[`rs encode ${K}-of-${N} (1 MiB segments)`] = rsEncode;

  const parity = codec.encode(data);
  const blocks: (Uint8Array | null)[] = [null, null, ...data.slice(2), ...parity];
  out[`rs decode ${K}-of-${N}, 2 data blocks missing`] = rate(MiB, minBytes, minSeconds, () => codec.decode(blocks));

  out['primitive bound (encrypt+hash+encode)'] = 1 / (1 / xsalsa + (1 + N / K) / sha + 1 / rsEncode);
  out['primitive bound download (decrypt+hash)'] = 1 / (1 / xsalsa + 2 / sha);
  return out;
}
