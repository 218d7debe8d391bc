/**
 * Gateway RPC handlers (proto/gateway.proto). Authentication and role checks
 * run before these (libs/auth secureService, policy in server.ts); handlers
 * read the caller with principalOf(call).
 *
 * Fetch, in order — every refusal happens before any byte moves:
 *  1. the cap must be a verify-cap (a read-cap would hand the read key to
 *     the gateway and beyond: refused without echoing it);
 *  2. it must carry an area code other than this grid's (local caps are
 *     fetched from the grid's own storage servers, not through the clearinghouse);
 *  3. the range must lie inside the file;
 *  4. the area code is resolved (cached) and its price checked against the ceiling;
 *  5. the transfer is fetched (long-distance-fetch.ts); when it ends — done,
 *     all contact points failed, or the client cancelled — each attempt's
 *     verified bytes are signed into a receipt and stored with their outbox
 *     messages (receipts.ts, transfer-store.ts) before the call ends.
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf } from '../../libs/auth/index.js';
import { parseCap, redactCap, type VerifyCap } from '../../libs/caps/index.js';
import { rangeFromWire } from '../../libs/format/index.js';
import { CapParseError, InvalidArgumentError, PreconditionError, UnavailableError } from '../../libs/errors/index.js';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import { serverStream, unary, writeMessage, CallerSlots } from '../../libs/rpc/index.js';
import type { FetchRequest__Output, GatewayUsage, SegmentChunk, Empty__Output } from '../../libs/rpc/proto-types.js';
import type { GatewayConfig } from './config.js';
import { fetchLongDistance, type AttemptReport, type LongDistanceFetchDeps, type LongDistanceFetchResult } from './long-distance-fetch.js';
import type { FinishedFetch } from './receipts.js';
import type { Resolver } from './resolver.js';
import type { UsageLine } from './transfer-store.js';

/** What the handlers need; built by server.ts. */
export interface GatewayContext {
  config: GatewayConfig;
  resolver: Resolver;
  /** Signs and stores the receipts of a finished fetch (with their outbox messages). */
  recordFetch(f: Omit<FinishedFetch, 'gatewayKey' | 'nats' | 'atMs' | 'ownAreaCode'>): Promise<void>;
  /** GetUsage lines (from the store). */
  usage(): Promise<UsageLine[]>;
  fetchDeps: LongDistanceFetchDeps;
  /** Called once per finished fetch (logs, tests). */
  onFetched?(result: LongDistanceFetchResult & { client: Uint8Array; areaCode: string }): void;
  /** Unexpected errors (sent as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

/**
 * Parses and checks the cap a client sent.
 * @throws CapParseError / InvalidArgumentError (INVALID_ARGUMENT) for a
 *   malformed cap, a read-cap, or a cap that is not long-distance.
 */
export function longDistanceCap(text: string, homeAreaCode: string): VerifyCap & { areaCode: string } {
  if (typeof text !== 'string' || text.length === 0) throw new InvalidArgumentError('verify_cap is empty: send the verify-cap of the file');
  let cap;
  try {
    cap = parseCap(text);
  } catch (err) {
    // The parse error quotes at most a short prefix of the text (libs/caps), never a whole key.
    if (err instanceof CapParseError) throw new CapParseError(`verify_cap: ${err.message}`, { cause: err });
    throw err;
  }
  if (cap.kind === 'read') {
    // Do not echo the cap: it holds the read key.
    throw new InvalidArgumentError(
      'verify_cap is a read-cap: the gateway must never see the read key; send only its verify-cap (URI:CHK-Verifier:…)',
    );
  }
  if (cap.areaCode === undefined || cap.areaCode === homeAreaCode) {
    throw new InvalidArgumentError(
      `${redactCap(cap)} ${cap.areaCode === undefined ? 'has no area code' : `is in this grid (area code ${homeAreaCode})`}: ` +
        'local caps are not routed through the clearinghouse; fetch them from the grid directly',
    );
  }
  return cap as VerifyCap & { areaCode: string };
}

/** The Gateway service implementation. */
export function gatewayHandlers(ctx: GatewayContext): grpc.UntypedServiceImplementation {
  const { config, resolver } = ctx;
  let active = 0;
  const perClient = new CallerSlots(config.maxFetchesPerClient, 'Fetch calls');
  return {
    Fetch: serverStream<FetchRequest__Output, SegmentChunk>(
      'Fetch',
      async (call) => {
        const principal = principalOf(call);
        const req = call.request;
        const cap = longDistanceCap(req.verifyCap, config.areaCode);
        const range = rangeFromWire(Number(req.offset ?? 0), Number(req.length ?? 0), cap.size);
        const resolution = await resolver.resolve(cap.areaCode);
        if (resolution.priceUnitsPerGib > config.priceCeilingUnitsPerGib) {
          throw new PreconditionError(
            `area code ${cap.areaCode} charges ${resolution.priceUnitsPerGib} units/GiB, above this gateway's ceiling of ` +
              `${config.priceCeilingUnitsPerGib} units/GiB: refused before any byte moved`,
          );
        }
        // Per client first: one client holding its whole allowance is told so (RESOURCE_EXHAUSTED), and never fills the global bound alone.
        const release = perClient.acquire(toHex(principal.publicKey));
        if (active >= config.maxConcurrentFetches) {
          release();
          throw new UnavailableError(`gateway busy: ${active} long-distance fetches in progress (limit ${config.maxConcurrentFetches}); retry shortly`);
        }
        active++;
        const abort = new AbortController();
        const onCancel = (): void => abort.abort();
        call.once('cancelled', onCancel);
        if (call.cancelled) abort.abort();
        const attempts: AttemptReport[] = [];
        try {
          const result = await fetchLongDistance(
            { cap, ...range, resolution, signal: abort.signal, attempts, sink: { forward: (chunk) => writeMessage(call, chunk, config.streamStallMs) } },
            ctx.fetchDeps,
          );
          ctx.onFetched?.({ ...result, client: principal.publicKey, areaCode: cap.areaCode });
        } finally {
          active--;
          release();
          call.removeListener('cancelled', onCancel);
          // Whatever the outcome, the verified bytes each contact point delivered are receipted
          // (before the client's call ends, so GetUsage already shows them). A store failure must
          // not turn a delivered fetch into an error: it is reported as internal.
          try {
            await ctx.recordFetch({
              fetchId: toHex(randomBytes(16)),
              client: principal.publicKey,
              remoteAreaCode: cap.areaCode,
              storageIndex: cap.storageIndex,
              resolution,
              attempts,
            });
          } catch (err) {
            ctx.onInternal?.(err, 'Fetch (recording receipts)');
          }
        }
      },
      ctx.onInternal,
    ),
    GetUsage: unary<Empty__Output, GatewayUsage>(
      'GetUsage',
      async () => ({
        lines: (await ctx.usage()).map((l) => ({
          client: Buffer.from(l.client),
          remoteAreaCode: l.remoteAreaCode,
          verifiedBytes: l.verifiedBytes,
          transfers: l.transfers,
          priceUnitsPerGib: l.priceUnitsPerGib,
        })),
      }),
      ctx.onInternal,
    ),
  };
}
