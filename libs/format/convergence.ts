/**
 * Convergent read keys (optional; random keys are the default). Equal
 * plaintexts under the same convergence secret and codec parameters get the
 * same key, hence the same storage index and shares, so a re-upload finds its
 * shares in place. The per-client secret stops anyone without it from
 * confirming a guessed file (Tahoe's "convergence secret").
 *
 *   key = taggedHash('intergrid:convergent-key:v1',
 *                    u32be(len(secret)) ‖ secret ‖ u16be(k) ‖ u16be(n) ‖ u32be(segmentSize) ‖ plaintext)
 *
 * Everything before the plaintext is length-framed or fixed-width, so the
 * hash input is unambiguous. SHA-256 output is 32 bytes: the whole digest is
 * the key. The plaintext is streamed (update in pieces), O(1) memory.
 */
import { TaggedHasher } from '../crypto/index.js';
import { InvalidArgumentError, assertBytes } from '../errors/index.js';
import { validateParams, type CodecParams } from './params.js';

export const CONVERGENT_KEY_TAG = 'intergrid:convergent-key:v1';

/** Incremental convergent-key computation: update() with the plaintext in order, then digest(). */
export class ConvergentKeyHasher {
  private readonly h = new TaggedHasher(CONVERGENT_KEY_TAG);

  /** @throws InvalidArgumentError for an empty secret or bad params. */
  constructor(secret: Uint8Array, params: CodecParams) {
    assertBytes('convergence secret', secret);
    if (secret.length === 0) throw new InvalidArgumentError('convergence secret must not be empty');
    const { k, n, segmentSize } = validateParams(params);
    const prefix = new Uint8Array(4 + secret.length + 8);
    const v = new DataView(prefix.buffer);
    v.setUint32(0, secret.length);
    prefix.set(secret, 4);
    v.setUint16(4 + secret.length, k);
    v.setUint16(6 + secret.length, n);
    v.setUint32(8 + secret.length, segmentSize);
    this.h.update(prefix);
  }

  update(plaintext: Uint8Array): this {
    this.h.update(plaintext);
    return this;
  }

  /** The 32-byte read key. */
  digest(): Uint8Array {
    return this.h.digest();
  }
}

/** Convergent read key of a whole plaintext held in memory (or given in pieces). */
export function convergentReadKey(secret: Uint8Array, params: CodecParams, plaintext: Uint8Array | Iterable<Uint8Array>): Uint8Array {
  const h = new ConvergentKeyHasher(secret, params);
  if (plaintext instanceof Uint8Array) h.update(plaintext);
  else for (const chunk of plaintext) h.update(chunk);
  return h.digest();
}
