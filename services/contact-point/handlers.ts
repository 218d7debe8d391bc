/**
 * ContactPoint RPC handlers (proto/contact_point.proto). secureService (in
 * server.ts) has already checked that the caller holds a 'gateway-approval'
 * certificate from the clearinghouse, and its policy that the gateway is of
 * another grid, whose grid is not suspended (caller-rules.ts); the handler
 * adds the rules that need the request: the cap is a verify-cap of this grid. It then streams the UEB and each verified ciphertext segment
 * (with its ciphertext-tree proof) of the range, from libs/client's
 * ciphertextSegments over this grid's storage servers: bad or missing
 * shares switch servers there, so a wrong byte never leaves. A transfer id
 * the calling gateway already used is refused (FAILED_PRECONDITION, from
 * ServedStore.begin) before anything is streamed.
 *
 * SubmitReceipt: the gateway's signed receipt for a transfer it fetched
 * here; checked against the caller and this contact point, then stored
 * (ServedStore.submitReceipt, receipt-intake.ts), which reports the served
 * record with it.
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf, type Principal, type SignedDocument } from '../../libs/auth/index.js';
import { parseVerifyCap, redactCap, READ_CAP_PREFIX, type VerifyCap } from '../../libs/caps/index.js';
import { ciphertextSegments, type GridSession } from '../../libs/client/index.js';
import { rangeFromWire, type ByteRange } from '../../libs/format/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { IntegrityError, InvalidArgumentError, LayoutInvalidError, NotFoundError, PermissionError, UnavailableError } from '../../libs/errors/index.js';
import { serverStream, unary, writeMessage, CallerSlots } from '../../libs/rpc/index.js';
import type { ServedUsage, FetchSegmentsRequest__Output, SegmentChunk, SignedReceipt__Output, Empty } from '../../libs/rpc/proto-types.js';
import { openReceipt, type ReceiptBody } from '../../libs/usage/index.js';
import type { GridLease } from './home-grid.js';
import type { ReceiptOutcome } from './receipt-intake.js';
import type { ServedStore } from './served-store.js';
import type { TransferRecord } from './transfer-rows.js';

/** Longest transfer id accepted (it is stored in metering records). */
export const MAX_TRANSFER_ID_LENGTH = 128;

/** What the handlers need; built by server.ts. */
export interface ContactPointContext {
  /** This grid's area code. */
  areaCode: string;
  /** A session on this grid's storage servers for one transfer. */
  acquireGrid(): Promise<GridLease>;
  /** This contact point's public key (receipts must name it). */
  publicKey: Uint8Array;
  store: ServedStore;
  maxConcurrentFetches: number;
  /** Most concurrent FetchSegments of one gateway key (default 16). */
  maxFetchesPerGateway?: number;
  /** A gateway that reads nothing this long has its FetchSegments ended (0 = wait forever; default 60 s). */
  streamStallMs?: number;
  /** A receipt was stored (logs, tests). */
  onReceipt?(info: { receipt: ReceiptBody; outcome: ReceiptOutcome }): void;
  /** Log line for a finished or failed transfer (never contains a cap's secret fields: there are none in a verify-cap). */
  onTransfer?(info: { transfer: TransferRecord; cap: string; error?: unknown }): void;
  /** Unexpected errors (sent to the caller as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

type FetchCall = grpc.ServerWritableStream<FetchSegmentsRequest__Output, SegmentChunk>;

/** The service implementation for secureService. */
export function contactPointHandlers(ctx: ContactPointContext): grpc.UntypedServiceImplementation {
  let active = 0;
  const perGateway = new CallerSlots(ctx.maxFetchesPerGateway ?? 16, 'FetchSegments calls');
  return {
    FetchSegments: serverStream<FetchSegmentsRequest__Output, SegmentChunk>(
      'FetchSegments',
      async (call) => {
        // Per gateway first: one gateway holding its whole allowance is told so (RESOURCE_EXHAUSTED), and never fills the global bound alone.
        const release = perGateway.acquire(toHex(principalOf(call).publicKey));
        try {
          if (active >= ctx.maxConcurrentFetches) {
            throw new UnavailableError(`contact point busy: ${active} transfers in progress (limit ${ctx.maxConcurrentFetches}); retry or use another contact point`);
          }
          active++;
          try {
            await fetchSegments(ctx, call);
          } finally {
            active--;
          }
        } finally {
          release();
        }
      },
      ctx.onInternal,
    ),
    SubmitReceipt: unary<SignedReceipt__Output, Empty>(
      'SubmitReceipt',
      async (call) => {
        // The policy (server.ts) admitted the caller as a gateway of another grid (caller-rules.ts).
        const caller = principalOf(call);
        const signed: SignedDocument = { body: new Uint8Array(call.request.body ?? []), signature: new Uint8Array(call.request.signature ?? []) };
        const receipt = checkReceipt(signed, caller, ctx.publicKey, ctx.areaCode);
        const outcome = await ctx.store.submitReceipt(receipt, signed);
        ctx.onReceipt?.({ receipt, outcome });
        return {};
      },
      ctx.onInternal,
    ),
    GetUsage: unary<unknown, ServedUsage>(
      'GetUsage',
      async () => ({
        lines: (await ctx.store.byGateway()).map((g) => ({
          gateway: fromHex(g.gateway),
          gatewayAreaCode: g.gatewayGrid,
          bytes: g.bytes,
          segments: g.segments,
          transfers: g.transfers,
        })),
      }),
      ctx.onInternal,
    ),
  };
}

/**
 * Opens a receipt a gateway submitted and checks it is about a transfer this
 * contact point served to that very gateway: signed by the caller's key,
 * naming this contact point, exported by this grid, imported by the
 * caller's grid (its gateway-approval certificate's).
 * @throws InvalidArgumentError (malformed, bad signature, another contact point or grid),
 *   PermissionError (signed by or for another gateway or grid than the caller's).
 */
export function checkReceipt(signed: SignedDocument, caller: Principal, ownKey: Uint8Array, areaCode: string): ReceiptBody {
  let receipt: ReceiptBody;
  try {
    receipt = openReceipt(signed);
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof LayoutInvalidError) throw new InvalidArgumentError(`receipt rejected: ${err.message}`, { cause: err });
    throw err;
  }
  const callerHex = toHex(caller.publicKey);
  if (receipt.gateway !== callerHex) {
    throw new PermissionError(
      `receipt for transfer '${receipt.transferId}' is signed by gateway ${receipt.gateway.slice(0, 16)}…, not by the caller ${callerHex.slice(0, 16)}…: a gateway submits only its own receipts`,
    );
  }
  const own = toHex(ownKey);
  if (receipt.contactPoint !== own) {
    throw new InvalidArgumentError(
      `receipt for transfer '${receipt.transferId}' names contact point ${receipt.contactPoint.slice(0, 16)}…, this is ${own.slice(0, 16)}…: send it to the contact point that served the bytes`,
    );
  }
  if (receipt.exporter !== areaCode) {
    throw new InvalidArgumentError(`receipt for transfer '${receipt.transferId}' names exporter ${receipt.exporter}; this contact point serves area ${areaCode}`);
  }
  if (receipt.importer !== caller.grid) {
    throw new PermissionError(
      `receipt for transfer '${receipt.transferId}' names importer ${receipt.importer}, but the caller is approved for area ${caller.grid}`,
    );
  }
  return receipt;
}

/**
 * Parses the requested cap. A read-cap is refused before any of it is
 * decoded or logged: the read key must never leave the client, and a
 * contact point that accepted one would teach gateways to send it.
 * @throws InvalidArgumentError (read-cap, no area code, malformed), NotFoundError (another grid's area code).
 */
export function checkCap(text: string, areaCode: string): VerifyCap {
  if (typeof text !== 'string' || text.length === 0) throw new InvalidArgumentError('verify_cap is empty: expected URI:CHK-Verifier:…');
  if (text.trimStart().startsWith(READ_CAP_PREFIX)) {
    throw new InvalidArgumentError(
      `a read-cap ('${READ_CAP_PREFIX}…') was sent: the contact point accepts only verify-caps (URI:CHK-Verifier:…); the read key must never leave the client`,
    );
  }
  let cap: VerifyCap;
  try {
    cap = parseVerifyCap(text);
  } catch (err) {
    throw new InvalidArgumentError(`verify_cap: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (cap.areaCode === undefined) {
    throw new InvalidArgumentError(`${redactCap(cap)} carries no area code: a long-distance verify-cap must end in this grid's area code ${areaCode}`);
  }
  if (cap.areaCode !== areaCode) {
    throw new NotFoundError(`${redactCap(cap)} is for area ${cap.areaCode}; this contact point serves area ${areaCode} only`);
  }
  return cap;
}

function checkTransferId(id: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('transfer_id is empty: the gateway names each transfer for metering');
  if (id.length > MAX_TRANSFER_ID_LENGTH || !/^[\x21-\x7e]+$/.test(id)) {
    throw new InvalidArgumentError(`transfer_id must be 1-${MAX_TRANSFER_ID_LENGTH} printable ASCII characters without spaces`);
  }
  return id;
}

async function fetchSegments(ctx: ContactPointContext, call: FetchCall): Promise<void> {
  // The policy (server.ts) admitted the caller: a gateway of another grid, not suspended (caller-rules.ts).
  const caller = principalOf(call);
  const req = call.request;
  const cap = checkCap(req.verifyCap, ctx.areaCode);
  const transferId = checkTransferId(req.transferId);
  const range = rangeFromWire(Number(req.offset), Number(req.length), cap.size);

  const lease = await ctx.acquireGrid();
  let rec: TransferRecord;
  try {
    rec = await ctx.store.begin({ transferId, gateway: caller.publicKey, gatewayGrid: caller.grid, storageIndex: cap.storageIndex });
  } catch (err) {
    lease.release();
    throw err;
  }
  let error: unknown;
  try {
    await stream(ctx, call, lease.session, cap, range, rec);
  } catch (err) {
    error = err;
  } finally {
    lease.release();
  }
  const state = call.cancelled ? 'cancelled' : error === undefined ? 'done' : 'failed';
  try {
    await ctx.store.end(rec, state);
  } catch (err) {
    // The bytes were served; a store failure is ours, not the gateway's problem.
    ctx.onInternal?.(err, 'FetchSegments (recording the transfer)');
  }
  ctx.onTransfer?.({ transfer: { ...rec }, cap: redactCap(cap), ...(error === undefined ? {} : { error }) });
  if (error !== undefined) throw error;
}

/** UEB first, then each segment with its proof; counts each segment once gRPC has taken it. */
async function stream(ctx: ContactPointContext, call: FetchCall, session: GridSession, cap: VerifyCap, range: ByteRange, rec: TransferRecord): Promise<void> {
  let uebSent = false;
  const segments = ciphertextSegments(session, cap, range, {
    onOpen: ({ uebBytes }) => {
      // Before any segment: the receiver checks it against the cap's UEB hash first.
      uebSent = true;
      call.write({ ueb: uebBytes });
    },
  });
  try {
    for await (const seg of segments) {
      if (call.cancelled) return; // return() on the generator below stops the fetch
      await writeMessage(call, { segment: { index: seg.index, ciphertext: seg.ciphertext, proof: seg.proof } }, ctx.streamStallMs ?? 60_000);
      if (call.cancelled) return;
      ctx.store.count(rec, seg.ciphertext.length);
    }
  } finally {
    // Ends the generator early on cancel or error (its prefetches are awaited-or-ignored there).
    await segments.return(undefined).catch(() => undefined);
  }
  if (!uebSent && !call.cancelled) throw new NotFoundError(`${redactCap(cap)}: no UEB was found`);
}

