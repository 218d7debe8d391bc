/**
 * Lease expiry and garbage collection (docs/storage.md "Leases and GC").
 * A share lives while at least one account holds an unexpired lease on its
 * storage index. GC deletes the database row first (in a transaction that
 * re-checks the leases), then the file: a crash in between leaves an orphan
 * file, which startup reconciliation removes; it never leaves a row that
 * points at nothing.
 */
import type { StorageContext } from './handlers.js';
import { shareLockKey, writeKey } from './handlers.js';

export interface GcResult {
  sharesDeleted: number;
  bytesFreed: number;
  leasesExpired: number;
  reservationsExpired: number;
}

/** One GC pass at `ctx.now()`. */
export async function collectGarbage(ctx: StorageContext): Promise<GcResult> {
  const now = ctx.now();
  const result: GcResult = { sharesDeleted: 0, bytesFreed: 0, leasesExpired: 0, reservationsExpired: 0 };

  for (const share of await ctx.meta.unleasedShares(now)) {
    // Same lock as WriteShare's completion: a share being re-uploaded right now is not deleted under it.
    await ctx.locks.run(shareLockKey(share.storageIndex, share.shareNumber), async () => {
      if (!(await ctx.meta.deleteShareIfUnleased(share.storageIndex, share.shareNumber, now))) return;
      await ctx.shares.remove(share.storageIndex, share.shareNumber);
      result.sharesDeleted++;
      result.bytesFreed += share.size;
    });
  }
  result.leasesExpired = await ctx.meta.deleteExpiredLeases(now);

  for (const a of await ctx.meta.expiredAllocations(now)) {
    // A reservation whose upload is still streaming is kept (the upload refreshed it at its start).
    if (ctx.activeWrites.has(writeKey(a.storageIndex, a.shareNumber, a.account))) continue;
    await ctx.meta.deleteAllocation(a.storageIndex, a.shareNumber, a.account, now);
    result.reservationsExpired++;
  }
  if (result.sharesDeleted + result.leasesExpired + result.reservationsExpired > 0) {
    ctx.logger.info(result, 'garbage collection');
  }
  return result;
}

/** Runs collectGarbage every `intervalMs`; failures are logged and retried next time. */
export function startGc(ctx: StorageContext, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      collectGarbage(ctx).catch((err: unknown) => ctx.logger.error({ err }, 'garbage collection failed')),
    );
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
