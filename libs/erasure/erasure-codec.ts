/**
 * Systematic k-of-n Reed–Solomon over GF(2^8): blocks 0..k-1 are the data
 * itself, blocks k..n-1 are parity, and any k of the n blocks recover the data.
 * The arithmetic is the Rust `reed-solomon-erasure` crate compiled to wasm,
 * driven through our own binding (wasm-module.ts; docs/erasure.md says why).
 */
import { InvalidArgumentError, NotEnoughSharesError, assertInt, describe } from '../errors/index.js';
import { wasmEncode, wasmReconstruct } from './wasm-module.js';

/**
 * Largest k and n: GF(2^8) Reed–Solomon has at most 256 distinct evaluation
 * points. THE share-count bound: caps (k, n fields), the format
 * (validateParams, share headers), the client config and the storage
 * server's share numbers (0..MAX_SHARES-1) all use this one.
 */
export const MAX_SHARES = 256;

/**
 * Upper bound on the bytes of one encode/decode call (n × block size), so a
 * single call stays well inside 32-bit wasm memory.
 */
export const MAX_CALL_BYTES = 1 << 30;

/** A k-of-n systematic erasure code. Instances are stateless and shared (see createCodec). */
export interface ErasureCodec {
  readonly k: number;
  readonly n: number;
  /**
   * Computes the n − k parity blocks for k equal-length data blocks.
   * Returns fresh arrays; an empty array when k = n.
   * @throws InvalidArgumentError unless `data` holds exactly k Uint8Arrays of equal length.
   */
  encode(data: readonly Uint8Array[]): Uint8Array[];
  /**
   * Recovers the k data blocks from n blocks in share order, null for a missing
   * block. When blocks 0..k-1 are all present they are returned as given (not
   * copied) and no decoding happens; otherwise the missing ones are
   * reconstructed and every returned block is a fresh array.
   * @throws NotEnoughSharesError when fewer than k blocks are present.
   * @throws InvalidArgumentError unless `blocks` has length n and the present blocks are equal-length Uint8Arrays.
   */
  decode(blocks: readonly (Uint8Array | null)[]): Uint8Array[];
}

class ReedSolomonCodec implements ErasureCodec {
  constructor(
    readonly k: number,
    readonly n: number,
  ) {}

  encode(data: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(data) || data.length !== this.k) {
      throw new InvalidArgumentError(`encode(${this.k}-of-${this.n}) needs ${this.k} data blocks, got ${countOf(data)}`);
    }
    const size = this.blockSize(data, 'data');
    const p = this.n - this.k;
    if (p === 0) return [];
    // The crate cannot split an empty buffer into shards; parity of empty blocks is empty.
    if (size === 0) return Array.from({ length: p }, () => new Uint8Array(0));
    return wasmEncode(data, p, size);
  }

  decode(blocks: readonly (Uint8Array | null)[]): Uint8Array[] {
    if (!Array.isArray(blocks) || blocks.length !== this.n) {
      throw new InvalidArgumentError(`decode(${this.k}-of-${this.n}) needs ${this.n} blocks (null for missing), got ${countOf(blocks)}`);
    }
    const size = this.blockSize(blocks, 'blocks');
    let present = 0;
    for (const b of blocks) if (b !== null) present++;
    if (present < this.k) {
      throw new NotEnoughSharesError(`decode(${this.k}-of-${this.n}) needs ${this.k} blocks, only ${present} present`);
    }
    const data = blocks.slice(0, this.k);
    // Systematic fast path: with every data block at hand there is nothing to decode.
    if (data.every((b): b is Uint8Array => b !== null)) return data;
    if (size === 0) return Array.from({ length: this.k }, () => new Uint8Array(0));
    return wasmReconstruct(blocks, this.k, size);
  }

  /** Checks every non-null entry is a Uint8Array and all have one length; returns it. */
  private blockSize(blocks: readonly (Uint8Array | null)[], what: string): number {
    let size = -1;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      if (b === null && what === 'blocks') continue;
      if (!(b instanceof Uint8Array)) {
        throw new InvalidArgumentError(`${what}[${i}] must be bytes${what === 'blocks' ? ' or null' : ''}, got ${describe(b)}`);
      }
      if (size === -1) size = b.length;
      else if (b.length !== size) {
        throw new InvalidArgumentError(`${what}[${i}] is ${b.length} bytes, but earlier blocks are ${size} bytes`);
      }
    }
    if (size * this.n > MAX_CALL_BYTES) {
      throw new InvalidArgumentError(`block size ${size} × n ${this.n} exceeds ${MAX_CALL_BYTES} bytes per call`);
    }
    return Math.max(size, 0);
  }
}

function countOf(v: unknown): string {
  return Array.isArray(v) ? String(v.length) : describe(v);
}

const cache = new Map<string, ErasureCodec>();

/**
 * Returns the k-of-n codec (cached per (k, n)).
 * @throws InvalidArgumentError unless 1 <= k <= n <= 256 are integers.
 * @example
 *   const rs = createCodec(3, 10);
 *   const parity = rs.encode([a, b, c]);           // 7 blocks
 *   const data = rs.decode([null, b, null, ...parity]); // [a, b, c]
 */
export function createCodec(k: number, n: number): ErasureCodec {
  assertInt('k', k, 1, MAX_SHARES);
  assertInt('n', n, 1, MAX_SHARES);
  if (n < k) throw new InvalidArgumentError(`n must be >= k, got k=${k}, n=${n}`);
  const key = `${k}/${n}`;
  let codec = cache.get(key);
  if (!codec) {
    codec = new ReedSolomonCodec(k, n);
    cache.set(key, codec);
  }
  return codec;
}
