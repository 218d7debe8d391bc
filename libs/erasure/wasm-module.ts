/**
 * Our own binding to the WebAssembly build of the Rust `reed-solomon-erasure`
 * crate shipped in @subspace/reed-solomon-erasure.wasm (0.2.5).
 *
 * Why not the package's JS wrapper: its `reconstruct` frees the
 * shards-available vector after the call, but the Rust side takes that vector
 * by value and has already freed it. The double free corrupts wee_alloc's free
 * list, and a later call fails ("too few shards present") or traps ("memory
 * access out of bounds"). We load only the .wasm file and call its exports.
 *
 * Calling convention (wasm-bindgen, as compiled into this .wasm; see
 * docs/erasure.md):
 *   __wbindgen_malloc(size) -> ptr           __wbindgen_free(ptr, size)
 *   encode(shardsPtr, shardsLen, k, p) -> u8
 *       `shards` is `&mut [u8]`: borrowed, the caller frees it. The n shards
 *       lie back to back, each shardsLen / n bytes; parity is written in place.
 *   reconstruct(shardsPtr, shardsLen, k, p, availPtr, availLen) -> u8
 *       `shards` borrowed as above; `avail` (one byte per shard, 1 = present)
 *       is an owned Vec<u8>: Rust frees it, so we must not.
 *   Return value 0 = ok; other codes are the crate's error enum (RESULT_* below).
 *   Both functions `unwrap()` ReedSolomon::new(k, p), so p = 0, k = 0 or
 *   k + p > 256 trap (`unreachable`); a shard size of 0 traps too. The codec
 *   never passes those.
 *
 * Memory: one scratch allocation holds the shards of a call and is reused by
 * the next, grown (free + malloc) only when a call needs more. After warm-up at
 * a given size the wasm memory does not grow. Results are copied out before
 * returning: wasm memory may grow during a call, which detaches old views.
 * If the module ever traps, the instance is thrown away (its heap may be
 * inconsistent) and a fresh one is made on the next call.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InternalError, NotEnoughSharesError } from '../errors/index.js';

/**
 * The slice of the WebAssembly JS API we use. Our tsconfig has no DOM lib and
 * @types/node 20 declares only the namespace, so we type it here.
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  RuntimeError: new (message?: string) => Error;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface RsExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  encode(shardsPtr: number, shardsLen: number, dataShards: number, parityShards: number): number;
  reconstruct(
    shardsPtr: number,
    shardsLen: number,
    dataShards: number,
    parityShards: number,
    availPtr: number,
    availLen: number,
  ): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(ptr: number, size: number): void;
}

/** The crate's error codes, by value (from the package's result table). */
const RESULT_OK = 0;
const RESULT_TOO_FEW_SHARDS_PRESENT = 10;
const RESULT_NAMES: readonly string[] = [
  'Ok',
  'TooFewShards',
  'TooManyShards',
  'TooFewDataShards',
  'TooManyDataShards',
  'TooFewParityShards',
  'TooManyParityShards',
  'TooFewBufferShards',
  'TooManyBufferShards',
  'IncorrectShardSize',
  'TooFewShardsPresent',
  'EmptyShard',
  'InvalidShardFlags',
  'InvalidIndex',
];

const WASM_FILE = '@subspace/reed-solomon-erasure.wasm/dist/reed_solomon_erasure_bg.wasm';

/** Compiled once per process; instances are cheap to make from it. */
let compiled: object | undefined;

interface State {
  exports: RsExports;
  /** Cached byte view of the memory; replaced when the memory grows. */
  view: Uint8Array;
  scratchPtr: number;
  scratchLen: number;
}
let state: State | undefined;

function instantiate(): State {
  if (!compiled) {
    const path = createRequire(import.meta.url).resolve(WASM_FILE);
    compiled = new wasm.Module(readFileSync(path));
  }
  // The module imports nothing: wee_alloc and the panic handler live inside.
  const instance = new wasm.Instance(compiled, {});
  const exports = instance.exports as unknown as RsExports;
  return { exports, view: new Uint8Array(exports.memory.buffer), scratchPtr: 0, scratchLen: 0 };
}

function current(): State {
  state ??= instantiate();
  return state;
}

/** Byte view of the current memory (re-made after growth detaches the old buffer). */
function memory(s: State): Uint8Array {
  if (s.view.buffer !== s.exports.memory.buffer) s.view = new Uint8Array(s.exports.memory.buffer);
  return s.view;
}

function scratch(s: State, size: number): number {
  if (s.scratchLen < size) {
    if (s.scratchLen > 0) s.exports.__wbindgen_free(s.scratchPtr, s.scratchLen);
    s.scratchLen = 0;
    s.scratchPtr = s.exports.__wbindgen_malloc(size);
    s.scratchLen = size;
  }
  return s.scratchPtr;
}

/** Runs `f` on the live instance; a trap discards the instance and becomes InternalError. */
function guarded<T>(what: string, f: (s: State) => T): T {
  const s = current();
  try {
    return f(s);
  } catch (e) {
    if (e instanceof wasm.RuntimeError) {
      state = undefined;
      throw new InternalError(`reed-solomon wasm trapped in ${what}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function check(what: string, code: number): void {
  if (code === RESULT_OK) return;
  const name = RESULT_NAMES[code] ?? `code ${code}`;
  if (code === RESULT_TOO_FEW_SHARDS_PRESENT) {
    throw new NotEnoughSharesError(`reed-solomon ${what}: too few shards present`);
  }
  throw new InternalError(`reed-solomon ${what} failed: ${name}`);
}

/**
 * Computes `p` parity shards for `k` data shards of `shardSize` bytes each.
 * Preconditions (checked by the codec): k >= 1, p >= 1, k + p <= 256,
 * shardSize >= 1, every data block exactly shardSize bytes.
 */
export function wasmEncode(data: readonly Uint8Array[], p: number, shardSize: number): Uint8Array[] {
  const k = data.length;
  const total = (k + p) * shardSize;
  return guarded('encode', (s) => {
    const ptr = scratch(s, total);
    let mem = memory(s);
    for (let i = 0; i < k; i++) mem.set(data[i]!, ptr + i * shardSize);
    check('encode', s.exports.encode(ptr, total, k, p));
    mem = memory(s);
    const parity: Uint8Array[] = [];
    for (let j = 0; j < p; j++) {
      const at = ptr + (k + j) * shardSize;
      parity.push(mem.slice(at, at + shardSize));
    }
    return parity;
  });
}

/**
 * Recovers the k data shards from `blocks` (length k + p, null = missing).
 * Preconditions (checked by the codec): at least k present, all present blocks
 * exactly shardSize bytes, shardSize >= 1, p >= 1, k + p <= 256.
 */
export function wasmReconstruct(blocks: readonly (Uint8Array | null)[], k: number, shardSize: number): Uint8Array[] {
  const n = blocks.length;
  const p = n - k;
  const total = n * shardSize;
  return guarded('reconstruct', (s) => {
    const ptr = scratch(s, total);
    let mem = memory(s);
    for (let i = 0; i < n; i++) {
      const b = blocks[i];
      // Missing shards are overwritten by the crate; zeroing keeps stale bytes
      // from a previous call out of any code path that might read them.
      if (b) mem.set(b, ptr + i * shardSize);
      else mem.fill(0, ptr + i * shardSize, ptr + (i + 1) * shardSize);
    }
    // Owned by Rust from here on: reconstruct frees it; we never do.
    const availPtr = s.exports.__wbindgen_malloc(n);
    mem = memory(s);
    for (let i = 0; i < n; i++) mem[availPtr + i] = blocks[i] ? 1 : 0;
    check('reconstruct', s.exports.reconstruct(ptr, total, k, p, availPtr, n));
    mem = memory(s);
    const out: Uint8Array[] = [];
    for (let i = 0; i < k; i++) out.push(mem.slice(ptr + i * shardSize, ptr + (i + 1) * shardSize));
    return out;
  });
}

/** Current size of the wasm linear memory in bytes (0 before first use). For tests and the bench. */
export function wasmMemoryBytes(): number {
  return state ? state.exports.memory.buffer.byteLength : 0;
}
