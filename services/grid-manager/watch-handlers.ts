/**
 * Watched files (proto/grid_manager.proto WatchFile, UnwatchFile,
 * ListWatched; docs/repair.md): admins hand the repairer verify-caps of this
 * grid's files to keep alive. A read-cap is refused, not attenuated: the
 * grid manager must never be sent a read key.
 */
import type * as grpc from '@grpc/grpc-js';
import { isLongDistance, parseCap, type VerifyCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { InvalidArgumentError, NotFoundError, PreconditionError, assertBytes } from '../../libs/errors/index.js';
import type { Empty, ListWatchedResponse, UnwatchFileRequest__Output, WatchFileRequest__Output, WatchedFile } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import type { GridManagerContext } from './handler-context.js';
import type { WatchedFileRecord } from './watch-store.js';

/** The cap of a WatchFile request: a verify-cap of this grid. */
export function watchableCap(text: string | undefined, areaCode: string): VerifyCap {
  const cap = parseCap(String(text ?? '').trim());
  if (cap.kind !== 'verify') {
    throw new InvalidArgumentError('send a verify-cap (URI:CHK-Verifier:…), not a read-cap: the grid manager never takes a read key (`intergrid grid watch` attenuates it for you)');
  }
  if (isLongDistance(cap, areaCode)) throw new PreconditionError(`this cap is for area code ${cap.areaCode ?? '?'}: this grid manager watches only files of its own grid ${areaCode}`);
  return cap;
}

export function watchedFileMessage(r: WatchedFileRecord): WatchedFile {
  return {
    verifyCap: r.verifyCap,
    storageIndex: Buffer.from(r.storageIndex),
    addedAtMs: r.addedAtMs,
    lastCheckedAtMs: r.lastCheckedAtMs,
    nextCheckAtMs: r.nextCheckAtMs,
    goodShares: r.goodShares,
    happiness: r.happiness,
    healthy: r.healthy,
    sharesRepaired: r.sharesRepaired,
    leaseExpiresAtMs: r.leaseExpiresAtMs,
    lastProblem: r.lastProblem,
    n: r.n,
  };
}

export function watchHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    WatchFile: unary<WatchFileRequest__Output, WatchedFile>(
      'WatchFile',
      async (call) => {
        const cap = watchableCap(call.request.verifyCap, ctx.config.areaCode);
        const rec = await ctx.watched.watch(cap, ctx.now());
        ctx.wakeRepairer();
        return watchedFileMessage(rec);
      },
      log,
    ),

    UnwatchFile: unary<UnwatchFileRequest__Output, Empty>(
      'UnwatchFile',
      async (call) => {
        const si = call.request.storageIndex ?? new Uint8Array(0);
        assertBytes('storage_index', si, 16);
        if (!(await ctx.watched.unwatch(toHex(si)))) throw new NotFoundError(`storage index ${toHex(si)} is not watched`);
        return {};
      },
      log,
    ),

    ListWatched: unary<Empty, ListWatchedResponse>('ListWatched', async () => ({ files: (await ctx.watched.list()).map(watchedFileMessage) }), log),
  };
}
