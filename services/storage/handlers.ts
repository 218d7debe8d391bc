/**
 * Storage RPC handlers (proto/storage.proto). Authentication happened before
 * any of this runs (libs/auth secureService); handlers only learn who the
 * caller is through `callerOf`. Errors are domain errors, mapped to statuses
 * by libs/rpc (unknown ones become INTERNAL and are logged).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { unary, serverStream, clientStream, writeMessage, type CallerSlots } from '../../libs/rpc/index.js';
import { InvalidArgumentError, NotFoundError, PreconditionError, UnavailableError, InternalError, DeadlineError, AlreadyExistsError } from '../../libs/errors/index.js';
import { shareProblem, sameBytes, withReader } from './share-check.js';
import type { AllocateBucketsRequest__Output, AllocateBucketsResponse, WriteShareRequest__Output, WriteShareResponse, AbortSharesRequest__Output, ListSharesRequest__Output, ListSharesResponse, ReadShareRequest__Output, ReadShareChunk, RenewLeaseRequest__Output, RenewLeaseResponse, AdviseCorruptRequest__Output, StatsResponse, Empty } from '../../libs/rpc/proto-types.js';
import type { MetadataStore } from './metadata-store.js';
import type { IncomingShare } from './incoming-share.js';
import { ShareMissingError, type ShareBackend, type ShareReader } from './share-backend.js';
import type { KeyedLock } from './keyed-lock.js';
import {
  checkStorageIndex,
  checkShareNumber,
  checkShareNumbers,
  checkShareSize,
  checkRanges,
  checkReason,
} from './request-checks.js';

/** Largest data chunk sent by ReadShare. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Who is calling, as the handlers need it. */
export interface Caller {
  /** Caller's public key, lowercase hex: the account of its leases and reservations. */
  account: string;
  /** Per-server quota from the caller's certificate (limits.quota_bytes); 0 = unlimited. */
  quotaBytes: number;
}

/** Everything the handlers share with the server (and GC). */
export interface StorageContext {
  meta: MetadataStore;
  shares: ShareBackend;
  locks: KeyedLock;
  /** Uploads in progress per `si/shnum/account` key (GC keeps their reservations). */
  activeWrites: Map<string, number>;
  leaseDurationMs: number;
  reservationTtlMs: number;
  maxShareBytes: number;
  /** Open ReadShare + WriteShare streams per caller (config maxStreamsPerCaller). */
  streams: CallerSlots;
  /** A ReadShare receiver that reads nothing this long is cut off (config streamStallMs). */
  streamStallMs: number;
  /** A WriteShare sender that sends nothing this long is cut off (config writeIdleMs). */
  writeIdleMs: number;
  logger: Logger;
  now(): number;
}

export const shareLockKey = (si: string, shnum: number): string => `share:${si}/${shnum}`;
export const writeKey = (si: string, shnum: number, account: string): string => `${si}/${shnum}/${account}`;

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/**
 * Builds the Storage service implementation.
 * @param callerOf who is calling (server.ts derives it from libs/auth principalOf).
 */
export function createStorageHandlers(ctx: StorageContext, callerOf: (call: AnyCall) => Caller): grpc.UntypedServiceImplementation {
  const log = (err: unknown, method: string): void => ctx.logger.error({ err, method }, 'internal error in storage handler');

  return {
    AllocateBuckets: unary<AllocateBucketsRequest__Output, AllocateBucketsResponse>(
      'AllocateBuckets',
      async (call) => {
        const caller = callerOf(call);
        const si = checkStorageIndex(call.request.storageIndex);
        const shareNumbers = checkShareNumbers(call.request.shareNumbers);
        const size = checkShareSize(call.request.shareSize, ctx.maxShareBytes);
        const replace = checkShareNumbers(call.request.replace ?? [], true);
        const outside = replace.find((n) => !shareNumbers.includes(n));
        if (outside !== undefined) throw new InvalidArgumentError(`replace lists share ${outside}, which is not in share_numbers`);
        // One quota decision per account at a time (the sum read and the insert must not interleave).
        return ctx.locks.run(`account:${caller.account}`, () =>
          ctx.meta.allocate({
            storageIndex: si,
            shareNumbers,
            size,
            account: caller.account,
            quotaBytes: caller.quotaBytes,
            now: ctx.now(),
            leaseDurationMs: ctx.leaseDurationMs,
            reservationTtlMs: ctx.reservationTtlMs,
            replace,
          }),
        );
      },
      log,
    ),

    WriteShare: clientStream<WriteShareRequest__Output, WriteShareResponse>(
      'WriteShare',
      async (call) => {
        const caller = callerOf(call);
        return ctx.streams.run(caller.account, () => writeShare(ctx, call, caller));
      },
      log,
    ),

    AbortShares: unary<AbortSharesRequest__Output, Empty>(
      'AbortShares',
      async (call) => {
        const caller = callerOf(call);
        const si = checkStorageIndex(call.request.storageIndex);
        const shareNumbers = checkShareNumbers(call.request.shareNumbers, true);
        await ctx.meta.abort(si, shareNumbers, caller.account);
        return {};
      },
      log,
    ),

    ListShares: unary<ListSharesRequest__Output, ListSharesResponse>(
      'ListShares',
      async (call) => {
        callerOf(call);
        const si = checkStorageIndex(call.request.storageIndex);
        const shares = await ctx.meta.listShares(si);
        return { shares: shares.map((s) => ({ shareNumber: s.shareNumber, size: s.size })) };
      },
      log,
    ),

    ReadShare: serverStream<ReadShareRequest__Output, ReadShareChunk>(
      'ReadShare',
      async (call) => {
        const caller = callerOf(call);
        return ctx.streams.run(caller.account, () => readShare(ctx, call));
      },
      log,
    ),

    RenewLease: unary<RenewLeaseRequest__Output, RenewLeaseResponse>(
      'RenewLease',
      async (call) => {
        const caller = callerOf(call);
        const si = checkStorageIndex(call.request.storageIndex);
        const expires = await ctx.locks.run(`account:${caller.account}`, () =>
          ctx.meta.renewLease(si, caller.account, caller.quotaBytes, ctx.now(), ctx.leaseDurationMs),
        );
        return { leaseExpiresAtMs: expires };
      },
      log,
    ),

    AdviseCorrupt: unary<AdviseCorruptRequest__Output, Empty>(
      'AdviseCorrupt',
      async (call) => {
        const caller = callerOf(call);
        const si = checkStorageIndex(call.request.storageIndex);
        const shnum = checkShareNumber(call.request.shareNumber);
        const reason = checkReason(call.request.reason);
        await ctx.meta.recordCorrupt(si, shnum, caller.account, reason, ctx.now());
        ctx.logger.warn({ storageIndex: si, shareNumber: shnum, reporter: caller.account, reason }, 'share reported corrupt');
        return {};
      },
      log,
    ),

    Stats: unary<Empty, StatsResponse>(
      'Stats',
      async (call) => {
        const caller = callerOf(call);
        const totals = await ctx.meta.totals();
        const usage = await ctx.meta.accountUsage(caller.account, ctx.now());
        return {
          shares: totals.shares,
          bytesStored: totals.bytes,
          accountBytes: usage.storedBytes,
          accountQuotaBytes: caller.quotaBytes,
          availableBytes: await ctx.shares.availableBytes(totals.bytes),
          corruptReports: totals.corruptReports,
        };
      },
      log,
    ),
  };
}

/**
 * WriteShare: header, then data into a temp file; at exactly share_size the
 * file is fsynced, renamed into place, its directory fsynced, and only then
 * recorded (share + lease − reservation, one transaction) and acknowledged.
 * Any other ending deletes the temp file; the reservation stays until
 * AbortShares or its expiry.
 */
async function writeShare(ctx: StorageContext, call: grpc.ServerReadableStream<WriteShareRequest__Output, WriteShareResponse>, caller: Caller): Promise<WriteShareResponse> {
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<WriteShareRequest__Output>;
  const next = async (): Promise<IteratorResult<WriteShareRequest__Output>> => {
    try {
      return await withinIdle(messages.next(), ctx.writeIdleMs);
    } catch (err) {
      if (err instanceof DeadlineError) throw err;
      // A cancelled call destroys the stream: report it as such, not as an internal error.
      if (call.cancelled) throw new UnavailableError('WriteShare cancelled by the client', { cause: err });
      throw err;
    }
  };

  const first = await next();
  if (first.done) throw new InvalidArgumentError('WriteShare stream ended before its header');
  const header = first.value.header;
  if (first.value.part !== 'header' || !header) throw new InvalidArgumentError('the first WriteShare message must be the header');
  const si = checkStorageIndex(header.storageIndex);
  const shnum = checkShareNumber(header.shareNumber);
  const size = checkShareSize(header.shareSize, ctx.maxShareBytes);
  const label = `share ${shnum} of ${si}`;

  const allocation = await ctx.meta.findAllocation(si, shnum, caller.account, ctx.now());
  if (!allocation) throw new PreconditionError(`${label} is not allocated to this account (call AllocateBuckets first)`);
  if (allocation.size !== size) {
    throw new InvalidArgumentError(`${label}: header share_size ${size} does not match the allocated size ${allocation.size}`);
  }
  // Several streams for one share may overlap (a client retrying after a broken stream before the
  // server noticed): each has its own temp file and the first to finish wins.
  const key = writeKey(si, shnum, caller.account);
  ctx.activeWrites.set(key, (ctx.activeWrites.get(key) ?? 0) + 1);

  let incoming: IncomingShare | undefined;
  let acknowledged = false;
  try {
    // The upload may outlast the reservation's TTL; keep it alive for a full TTL from now.
    await ctx.meta.touchAllocation(si, shnum, caller.account, ctx.now() + ctx.reservationTtlMs);
    incoming = await ctx.shares.createIncoming(si, shnum);
    for (;;) {
      const r = await next();
      if (r.done) break;
      if (r.value.part !== 'data') throw new InvalidArgumentError(`${label}: only the first WriteShare message may be a header`);
      const data = r.value.data ?? Buffer.alloc(0);
      if (incoming.bytesWritten + data.length > size) {
        throw new InvalidArgumentError(`${label}: received more than share_size ${size} bytes (${incoming.bytesWritten + data.length} so far)`);
      }
      await incoming.write(data);
    }
    if (call.cancelled) throw new UnavailableError('WriteShare cancelled by the client');
    if (incoming.bytesWritten !== size) {
      throw new InvalidArgumentError(`${label}: stream ended after ${incoming.bytesWritten} of share_size ${size} bytes`);
    }
    await incoming.finish();
    const done = incoming;
    const result = await ctx.locks.run(shareLockKey(si, shnum), async () => {
      const existing = await ctx.meta.getShare(si, shnum);
      // Another upload finished this share first: the same bytes add our lease; different bytes are judged (resolveConflict).
      const outcome = existing ? await resolveConflict(ctx, done, existing.size, size, si, shnum, label) : 'new';
      if (outcome === 'same') await done.discard();
      else await ctx.shares.install(done, si, shnum);
      try {
        return await ctx.meta.commitShare({
          storageIndex: si,
          shareNumber: shnum,
          size,
          account: caller.account,
          now: ctx.now(),
          leaseDurationMs: ctx.leaseDurationMs,
          replace: outcome === 'replace',
        });
      } catch (err) {
        // Not recorded, so not acknowledged: the file we moved into place must not stay.
        if (outcome === 'new') await ctx.shares.remove(si, shnum);
        if (outcome === 'replace') {
          // The replaced file did not verify (it is gone); ours is not acknowledged: neither is served.
          await ctx.meta.deleteShare(si, shnum);
          await ctx.shares.remove(si, shnum);
        }
        throw err;
      }
    });
    acknowledged = true;
    ctx.logger.debug({ storageIndex: si, shareNumber: shnum, size }, 'share stored');
    return { bytesWritten: size, leaseExpiresAtMs: result.leaseExpiresAtMs };
  } finally {
    const left = (ctx.activeWrites.get(key) ?? 1) - 1;
    if (left > 0) ctx.activeWrites.set(key, left);
    else ctx.activeWrites.delete(key);
    if (!acknowledged && incoming) await incoming.discard();
    await ctx.shares.tidyIncoming(si);
  }
}

/**
 * A WriteShare finished for a share that is already held. The server has no
 * cap, but every share carries its own UEB and hash trees (share-check.ts):
 *   same bytes                          -> 'same' (dedup: discard ours, add the lease)
 *   held does not verify, ours does     -> 'replace' (the junk is overwritten)
 *   held verifies                       -> kept; ours is refused (ALREADY_EXISTS):
 *                                          an honest share that was there first is never lost
 *   neither verifies                    -> kept; ours is refused (ALREADY_EXISTS)
 * A refusal is never an acknowledgement: the uploader learns its bytes were
 * not stored, and does not count the share (docs/storage.md "Conflicting shares").
 */
async function resolveConflict(ctx: StorageContext, incoming: IncomingShare, heldSize: number, size: number, si: string, shnum: number, label: string): Promise<'same' | 'replace'> {
  const openHeld = () => ctx.shares.openShare(si, shnum);
  const same = heldSize === size && (await withReader(openHeld, (held) => withReader(() => incoming.reader(), (ours) => sameBytes(held, ours))).catch(() => false));
  if (same) return 'same';
  const ours = await withReader(() => incoming.reader(), (r) => shareProblem(r, shnum));
  const held = await withReader(openHeld, (r) => shareProblem(r, shnum)).catch((err: unknown) => `unreadable (${(err as Error).message})`);
  if (ours === undefined && held !== undefined) {
    ctx.logger.warn({ storageIndex: si, shareNumber: shnum, heldSize, size, problem: held }, 'held share does not verify: replaced by an upload that does');
    return 'replace';
  }
  if (held === undefined) {
    throw new AlreadyExistsError(
      `${label} is already held as a different ${heldSize}-byte share that verifies against its own UEB; it is kept and this upload was not stored` +
        (ours === undefined ? '' : ` (this upload does not verify: ${ours})`),
    );
  }
  throw new AlreadyExistsError(`${label} is already held with different bytes, and this upload does not verify either (${ours}); nothing was replaced`);
}

/** ReadShare: validates every range first, then streams ≤ 256 KiB chunks read from disk, honouring backpressure. */
async function readShare(ctx: StorageContext, call: grpc.ServerWritableStream<ReadShareRequest__Output, ReadShareChunk>): Promise<void> {
  const si = checkStorageIndex(call.request.storageIndex);
  const shnum = checkShareNumber(call.request.shareNumber);
  const label = `share ${shnum} of ${si}`;
  const share = await ctx.meta.getShare(si, shnum);
  if (!share) throw new NotFoundError(`${label} is not held by this server`);
  const ranges = checkRanges(call.request.ranges, share.size, label);
  let handle: ShareReader;
  try {
    handle = await ctx.shares.openShare(si, shnum);
  } catch (err) {
    if (err instanceof ShareMissingError) throw new NotFoundError(`${label} is no longer held by this server`, { cause: err });
    throw err;
  }
  try {
    if (handle.size !== share.size) {
      ctx.logger.error({ storageIndex: si, shareNumber: shnum, expected: share.size, actual: handle.size }, 'share has the wrong size');
      throw new InternalError(`${label} is damaged on this server`);
    }
    for (let i = 0; i < ranges.length; i++) {
      const { offset, length } = ranges[i]!;
      if (length === 0) {
        await writeMessage(call, { rangeIndex: i, offset, data: Buffer.alloc(0) }, ctx.streamStallMs);
        continue;
      }
      for (let pos = offset; pos < offset + length; ) {
        if (call.cancelled) return;
        const n = Math.min(READ_CHUNK_BYTES, offset + length - pos);
        // A fresh buffer per chunk: grpc-js may still hold the previous one.
        const buf = Buffer.allocUnsafe(n);
        let got = 0;
        while (got < n) {
          const bytesRead = await handle.read(buf, got, n - got, pos + got);
          if (bytesRead === 0) throw new InternalError(`${label} ended early at offset ${pos + got}`);
          got += bytesRead;
        }
        await writeMessage(call, { rangeIndex: i, offset: pos, data: buf }, ctx.streamStallMs);
        pos += n;
      }
    }
  } finally {
    await handle.close();
  }
}


/**
 * The next WriteShare message, or a DeadlineError when the sender is silent
 * for `idleMs`: an open stream holds a slot, a temp file and a reservation,
 * so a client that opens one and goes quiet must not keep them forever.
 */
function withinIdle<T>(pending: Promise<T>, idleMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`WriteShare sent nothing for ${idleMs / 1000} s: stream ended, partial share discarded`)), idleMs);
    timer.unref();
  });
  // The losing side of the race must not surface as an unhandled rejection.
  pending.catch(() => undefined);
  return Promise.race([pending, idle]).finally(() => clearTimeout(timer));
}
