/**
 * The replay guard: remembers each accepted request's (caller key, nonce)
 * for a fixed time, with bounded memory.
 *
 * Why the window is enough: the server check accepts a request only when
 * |server clock - request timestamp| <= maxSkew. A request first accepted at
 * server time t therefore has timestamp >= t - maxSkew, and a replay of it
 * passes the clock check only until timestamp + maxSkew <= t + 2·maxSkew. So
 * a nonce remembered for 2·maxSkew after it was first seen covers every replay
 * the clock check would let through; after that the timestamp alone rejects
 * it. Entries expire in arrival order, so eviction walks the front of an
 * insertion-ordered Map (amortised O(1) per request).
 */
import { assertInt, UnavailableError } from '../errors/index.js';

export class NonceCache {
  /** key → expiry time (ms); Map order is arrival order, hence expiry order. */
  private readonly entries = new Map<string, number>();

  /**
   * @param ttlMs how long a nonce is remembered (the server check uses 2 × max skew).
   * @param maxEntries hard bound on memory; when reached, `add` refuses (fail closed).
   * @throws InvalidArgumentError for a non-positive ttl or bound.
   */
  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 200_000,
  ) {
    assertInt('nonce ttlMs', ttlMs, 1);
    assertInt('nonce maxEntries', maxEntries, 1);
  }

  /** Number of nonces currently remembered (after dropping expired ones at `now`). */
  size(now: number): number {
    this.evict(now);
    return this.entries.size;
  }

  /** True if `key` was added less than ttlMs before `now`. */
  has(key: string, now: number): boolean {
    this.evict(now);
    const expiry = this.entries.get(key);
    return expiry !== undefined && expiry > now;
  }

  /**
   * Remembers `key` until now + ttlMs.
   * @throws UnavailableError when maxEntries nonces are live: accepting the
   *   request without remembering its nonce would open a replay window, so
   *   the guard fails closed and the caller retries later.
   */
  add(key: string, now: number): void {
    this.evict(now);
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      throw new UnavailableError(`replay cache is full (${this.maxEntries} nonces in the last ${this.ttlMs} ms); retry later`);
    }
    // Re-adding moves the key to the back, keeping the Map in expiry order.
    this.entries.delete(key);
    this.entries.set(key, now + this.ttlMs);
  }

  private evict(now: number): void {
    for (const [key, expiry] of this.entries) {
      if (expiry > now) break;
      this.entries.delete(key);
    }
  }
}
