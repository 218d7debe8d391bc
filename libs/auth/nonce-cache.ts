/**
 * The replay guard: remembers each accepted request's nonce, per caller, for
 * a fixed time, with memory bounded per caller and in all.
 *
 * Why the window is enough: the server check accepts a request only when
 * |server clock - request timestamp| <= maxSkew. A request first accepted at
 * server time t therefore has timestamp >= t - maxSkew, and a replay of it
 * passes the clock check only until timestamp + maxSkew <= t + 2·maxSkew. So
 * a nonce remembered for 2·maxSkew after it was first seen covers every replay
 * the clock check would let through; after that the timestamp alone rejects
 * it.
 *
 * Why per caller (docs/security.md "Replay"): one shared bound let a single
 * certified caller fill the cache and lock every other caller out. Each
 * caller now has its own bound; a caller past it is refused
 * (RESOURCE_EXHAUSTED, "slow down") and nobody else notices. The number of
 * callers is bounded too; only certified callers that passed every check are
 * ever added (request-checker.ts), so reaching that bound takes that many
 * certificates. Entries expire in arrival order, so eviction walks the front
 * of insertion-ordered Maps (amortised O(1) per request).
 */
import { z } from 'zod';
import { assertInt, QuotaError, UnavailableError } from '../errors/index.js';

/** One caller's live nonces: nonce → expiry (ms), in arrival (= expiry) order. */
interface CallerNonces {
  nonces: Map<string, number>;
  /** Expiry of the newest nonce: the caller's whole entry is stale after it. */
  lastExpiry: number;
}

/**
 * Default bound on |server clock - request timestamp| (the server check's
 * `maxSkewMs`, every service's `maxClockSkewMs`); nonces live 2 × this.
 */
export const DEFAULT_MAX_SKEW_MS = 60_000;
/** Largest `maxClockSkewMs` a config may set: a year (a replay window that long is already no bound). */
const MAX_CONFIG_SKEW_MS = 365 * 24 * 60 * 60 * 1000;

/** Default most live nonces per caller: ~830 requests/s sustained over a 2-minute window. */
export const DEFAULT_MAX_NONCES_PER_CALLER = 100_000;
/** Default most distinct callers remembered at once. */
export const DEFAULT_MAX_CALLERS = 50_000;

/** The `maxNoncesPerCaller` field every service config has (docs/configuration.md): this replay bound. */
export const maxNoncesPerCallerSchema = z.number().int().positive().max(10_000_000).default(DEFAULT_MAX_NONCES_PER_CALLER);
/** The `maxClockSkewMs` field every service config has (docs/configuration.md): the request clock bound, default DEFAULT_MAX_SKEW_MS. */
export const maxClockSkewSchema = z.number().int().positive().max(MAX_CONFIG_SKEW_MS).default(DEFAULT_MAX_SKEW_MS);

export class NonceCache {
  /** caller → its nonces; Map order is the order of each caller's latest add, hence of lastExpiry. */
  private readonly callers = new Map<string, CallerNonces>();

  /**
   * @param ttlMs how long a nonce is remembered (the server check uses 2 × max skew).
   * @param maxPerCaller most live nonces of one caller; past it that caller's requests are refused.
   * @param maxCallers most callers remembered at once; past it requests of new callers are refused (fail closed).
   * @throws InvalidArgumentError for a non-positive ttl or bound.
   */
  constructor(
    readonly ttlMs: number,
    readonly maxPerCaller = DEFAULT_MAX_NONCES_PER_CALLER,
    readonly maxCallers = DEFAULT_MAX_CALLERS,
  ) {
    assertInt('nonce ttlMs', ttlMs, 1);
    assertInt('nonce maxPerCaller', maxPerCaller, 1);
    assertInt('nonce maxCallers', maxCallers, 1);
  }

  /** Number of nonces of `caller` currently remembered (after dropping expired ones at `now`). */
  size(caller: string, now: number): number {
    const c = this.live(caller, now);
    return c ? c.nonces.size : 0;
  }

  /** Number of callers with a live nonce at `now`. */
  callerCount(now: number): number {
    this.evictCallers(now);
    return this.callers.size;
  }

  /** True if `caller` added `nonce` less than ttlMs before `now`. */
  has(caller: string, nonce: string, now: number): boolean {
    const expiry = this.live(caller, now)?.nonces.get(nonce);
    return expiry !== undefined && expiry > now;
  }

  /**
   * Remembers `nonce` of `caller` until now + ttlMs.
   * @throws QuotaError when `caller` already has maxPerCaller live nonces:
   *   accepting without remembering would open a replay window, so this
   *   caller is refused until its older nonces expire (others are unaffected).
   * @throws UnavailableError when maxCallers other callers are live and this one is new.
   */
  add(caller: string, nonce: string, now: number): void {
    this.evictCallers(now);
    let c = this.live(caller, now);
    if (!c) {
      if (this.callers.size >= this.maxCallers) {
        throw new UnavailableError(`replay cache holds ${this.maxCallers} callers in the last ${this.ttlMs} ms; retry later`);
      }
      c = { nonces: new Map(), lastExpiry: 0 };
    }
    if (c.nonces.size >= this.maxPerCaller && !c.nonces.has(nonce)) {
      throw new QuotaError(`too many requests: ${this.maxPerCaller} from this caller in the last ${this.ttlMs} ms; slow down and retry`);
    }
    c.nonces.delete(nonce);
    c.nonces.set(nonce, now + this.ttlMs);
    c.lastExpiry = now + this.ttlMs;
    // Re-inserting moves the caller to the back, keeping the outer Map in lastExpiry order.
    this.callers.delete(caller);
    this.callers.set(caller, c);
  }

  /** The caller's entry with its expired nonces dropped, or undefined when none is live. */
  private live(caller: string, now: number): CallerNonces | undefined {
    const c = this.callers.get(caller);
    if (!c) return undefined;
    if (c.lastExpiry <= now) {
      this.callers.delete(caller);
      return undefined;
    }
    for (const [nonce, expiry] of c.nonces) {
      if (expiry > now) break;
      c.nonces.delete(nonce);
    }
    return c;
  }

  private evictCallers(now: number): void {
    for (const [caller, c] of this.callers) {
      if (c.lastExpiry > now) break;
      this.callers.delete(caller);
    }
  }
}
