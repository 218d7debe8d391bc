/**
 * Per-caller limits for streaming calls (issue 11 item 9). A single global
 * bound lets one caller hold every slot; counting per caller public key
 * means a caller that opens many streams (or stalls them) only exhausts
 * its own share, while every other caller is still served.
 */
import { BusyError } from '../errors/index.js';

export class CallerSlots {
  private readonly held = new Map<string, number>();

  /**
   * @param perCaller most calls one caller may have in progress at once
   * @param what names the calls in the refusal, e.g. "storage streams"
   */
  constructor(
    readonly perCaller: number,
    private readonly what: string,
  ) {}

  /** Calls `caller` has in progress. */
  inUse(caller: string): number {
    return this.held.get(caller) ?? 0;
  }

  /**
   * Takes one slot for `caller` (hex public key); the returned function gives
   * it back (idempotent).
   * @throws BusyError (RESOURCE_EXHAUSTED) naming the caller and the limit.
   */
  acquire(caller: string): () => void {
    const n = this.inUse(caller);
    if (n >= this.perCaller) {
      throw new BusyError(
        `too many ${this.what}: caller ${caller.slice(0, 16)}… already has ${n} in progress (limit ${this.perCaller} per caller); retry when one finishes`,
      );
    }
    this.held.set(caller, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inUse(caller) - 1;
      if (left > 0) this.held.set(caller, left);
      else this.held.delete(caller);
    };
  }

  /** Runs `fn` holding one of `caller`'s slots. */
  async run<T>(caller: string, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(caller);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
