/**
 * Area code → verified resolution, cached (DESIGN.md "Long-distance
 * download": the gateway resolves the area code at the clearinghouse, cached).
 *
 * A cached resolution is reused until min(its expiresAtMs, fetch time +
 * resolutionCacheMs): never past the clearinghouse's own expiry, so a
 * suspended grid or a departed contact point stops being used within the
 * expiry the clearinghouse chose. Failures are never cached (the next fetch
 * asks again), and concurrent fetches for one area code share one request.
 *
 * The clearinghouse's NOT_FOUND (unknown area code) and FAILED_PRECONDITION
 * (suspended grid) pass through with their class, prefixed with what the
 * gateway was doing, so the client sees why its cap cannot be fetched.
 */
import { IntergridError, UnavailableError, InternalError } from '../../libs/errors/index.js';
import type { Resolution } from '../../libs/federation/index.js';

/** Where verified resolutions come from (libs/federation connectClearinghouse in production). */
export interface ResolutionSource {
  /** The verified resolution of `areaCode`. */
  resolve(areaCode: string): Promise<Resolution>;
}

export interface ResolverOptions {
  /** Longest reuse of a resolution, ms (0 = never reuse). */
  cacheMs: number;
  /** Clock (Unix ms), for tests. */
  now?(): number;
}

interface Entry {
  resolution: Resolution;
  validUntil: number;
}

/** Cached resolution of area codes through a ResolutionSource. */
export class Resolver {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Resolution>>();
  private readonly now: () => number;

  constructor(
    private readonly source: ResolutionSource,
    private readonly opts: ResolverOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * The resolution of `areaCode`, from the cache when still valid.
   * @throws NotFoundError (unknown area code), PreconditionError (suspended
   *   grid), UnavailableError (clearinghouse unreachable), IntegrityError /
   *   LayoutInvalidError (a resolution that does not verify), each naming the area code.
   */
  async resolve(areaCode: string): Promise<Resolution> {
    const hit = this.cache.get(areaCode);
    if (hit && this.now() < hit.validUntil) return hit.resolution;
    if (hit) this.cache.delete(areaCode);
    let pending = this.inflight.get(areaCode);
    if (!pending) {
      pending = this.fetch(areaCode).finally(() => this.inflight.delete(areaCode));
      this.inflight.set(areaCode, pending);
    }
    return pending;
  }

  /** Drops every cached resolution (tests; operators after a clearinghouse change). */
  clear(): void {
    this.cache.clear();
  }

  private async fetch(areaCode: string): Promise<Resolution> {
    const fetchedAt = this.now();
    let resolution: Resolution;
    try {
      resolution = await this.source.resolve(areaCode);
    } catch (err) {
      throw explain(areaCode, err);
    }
    if (resolution.areaCode !== areaCode) {
      throw new InternalError(`clearinghouse answered area code ${resolution.areaCode} when asked for ${areaCode}`);
    }
    const validUntil = Math.min(resolution.expiresAtMs, fetchedAt + this.opts.cacheMs);
    if (validUntil > this.now()) this.cache.set(areaCode, { resolution, validUntil });
    return resolution;
  }
}

/** Rebuilds `err` with the same class and code, its message prefixed with the area code being resolved. */
function explain(areaCode: string, err: unknown): IntergridError {
  const prefix = `resolving area code ${areaCode} at the clearinghouse`;
  if (err instanceof IntergridError) {
    const message = `${prefix}: ${err.message}`;
    if (err.constructor === IntergridError) return new IntergridError(err.code, message, { cause: err });
    // Every subclass takes (message, options) and fixes its own code.
    const Ctor = err.constructor as new (message: string, options?: { cause?: unknown }) => IntergridError;
    return new Ctor(message, { cause: err });
  }
  return new UnavailableError(`${prefix}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
