/**
 * One long-distance fetch: stream verified ciphertext of a byte range from
 * the contact points of a resolution to a sink (DESIGN.md "Long-distance
 * download").
 *
 * Invariants:
 *  - The UEB is checked against the cap before anything is forwarded, and
 *    forwarded once (from the first contact point that sent a good one).
 *  - Every segment is checked to be the next expected index and verified
 *    against the UEB's ciphertext root BEFORE it is forwarded or counted
 *    (libs/format SegmentStreamChecker); a bad one is dropped and its
 *    contact point abandoned.
 *  - On a bad chunk, an error, a stall (no chunk for `timeoutMs`) or an early
 *    end, the next contact point is asked for the rest of the range, starting
 *    at the first segment not yet forwarded: the sink sees each segment of
 *    the range exactly once, in order.
 *  - Backpressure: the next upstream chunk is read only after the sink took
 *    the previous one, so grpc-js flow control holds the contact point back
 *    and memory does not grow with the file.
 *  - Aborting (the client cancelled) cancels the upstream call at once.
 */
import * as grpc from '@grpc/grpc-js';
import type { VerifyCap } from '../../libs/caps/index.js';
import { formatCap } from '../../libs/caps/index.js';
import type { Peer } from '../../libs/auth/index.js';
import { fromHex, randomBytes, toHex } from '../../libs/crypto/index.js';
import { UnavailableError, InternalError, PermissionError } from '../../libs/errors/index.js';
import type { Resolution } from '../../libs/federation/index.js';
import { SegmentStreamChecker, rangeToWire, type ByteRange, type SegmentChunkInput } from '../../libs/format/index.js';
import { fromServiceError, isServiceError } from '../../libs/rpc/index.js';
import type { ContactPointClient, SegmentChunk, SegmentChunk__Output } from '../../libs/rpc/proto-types.js';

/** Where verified chunks go. */
export interface ChunkSink {
  /** Forwards one chunk; resolves when the sink can take the next (backpressure). */
  forward(chunk: SegmentChunk): Promise<void>;
  /** Called after a verified segment was forwarded, with its ciphertext length (the metered bytes). */
  onSegmentForwarded?(bytes: number): void;
}

export interface LongDistanceFetchInput {
  /** The verify-cap, with the remote area code. */
  cap: VerifyCap;
  /** Plaintext byte range; offset + length ≤ cap.size (length 0 only for an empty range). */
  offset: number;
  length: number;
  resolution: Resolution;
  sink: ChunkSink;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /**
   * Receives one report per contact point tried, as each starts (so the
   * caller has them also when the fetch throws: all failed, or cancelled).
   * Default: a private array, returned in the result.
   */
  attempts?: AttemptReport[];
}

export interface LongDistanceFetchDeps {
  /** The (cached) client for a contact point address, signing as the gateway. */
  /** A client of the contact point at `peer.address`, pinned to and signing for `peer.publicKey`. */
  contactPoint(peer: Peer): ContactPointClient;
  /** A contact point that sends nothing for this long is abandoned. */
  timeoutMs: number;
  /**
   * Transfer id generator (default: 16 random bytes, hex), called once per
   * attempt: a contact point serves a (gateway, transfer id) once and refuses
   * a reused one (FAILED_PRECONDITION), so it must never repeat.
   */
  transferId?(): string;
}

/** What each contact point did, for the final report, the error and the receipt. */
export interface AttemptReport {
  address: string;
  /** The contact point's public key, hex (from the resolution). */
  contactPoint: string;
  transferId: string;
  /** Segments verified and forwarded from this contact point. */
  segments: number;
  /** Ciphertext bytes of those segments (what the receipt for this attempt covers). */
  bytes: number;
  /** Their ciphertext byte ranges (segment index × segment size), contiguous runs merged. */
  ranges: ByteRange[];
  /** Why it was abandoned; undefined when it finished the range. */
  failure?: string;
}

export interface LongDistanceFetchResult {
  /** Ciphertext bytes verified and forwarded. */
  bytes: number;
  segments: number;
  attempts: AttemptReport[];
}

/** Thrown inside an attempt to abandon a contact point (the message says why). */
class AttemptFailed extends Error {
  /** The contact point refused this gateway (PERMISSION_DENIED): its grid suspended, its approval revoked. */
  refused = false;
}

/** Per-fetch state shared across attempts. */
interface Progress {
  /** Set once the UEB was verified and forwarded (it is forwarded once). */
  segmentSize?: number;
  /** Next segment index to forward (valid once segmentSize is set). */
  next: number;
  bytes: number;
  segments: number;
}

/**
 * Streams the UEB and then every segment of [offset, offset+length) to the
 * sink, failing over between the resolution's contact points in order.
 * @throws UnavailableError naming each contact point and what it did, when none finished the range
 *   (PermissionError when every one of them refused this gateway with PERMISSION_DENIED);
 *   UnavailableError('cancelled …') when `signal` aborted.
 */
export async function fetchLongDistance(input: LongDistanceFetchInput, deps: LongDistanceFetchDeps): Promise<LongDistanceFetchResult> {
  const { resolution, signal } = input;
  const area = resolution.areaCode;
  if (resolution.contactPoints.length === 0) {
    throw new UnavailableError(`area code ${area} has no registered contact point`);
  }
  const progress: Progress = { next: -1, bytes: 0, segments: 0 };
  const attempts: AttemptReport[] = input.attempts ?? [];
  const capText = formatCap(input.cap);
  let refusals = 0;
  for (const cp of resolution.contactPoints) {
    if (signal.aborted) throw cancelled();
    const report: AttemptReport = {
      address: cp.address,
      contactPoint: toHex(cp.publicKey),
      transferId: (deps.transferId ?? newTransferId)(),
      segments: 0,
      bytes: 0,
      ranges: [],
    };
    attempts.push(report);
    try {
      await attempt(input, deps, capText, progress, report);
      return { bytes: progress.bytes, segments: progress.segments, attempts };
    } catch (err) {
      if (signal.aborted) throw cancelled();
      if (!(err instanceof AttemptFailed)) throw err;
      report.failure = err.message;
      if (err.refused) refusals++;
    }
  }
  const what = attempts.map((a) => `${a.address}: ${a.failure ?? 'unknown'}${a.segments ? ` (after ${a.segments} good segments)` : ''}`).join('; ');
  // Every contact point refused this gateway: retrying elsewhere will not help (the clearinghouse suspended its grid or revoked its approval).
  if (refusals === attempts.length) throw new PermissionError(`every contact point of area code ${area} refused this gateway: ${what}`);
  throw new UnavailableError(`all ${attempts.length} contact points of area code ${area} failed: ${what}`);
}

/** Adds a verified, forwarded segment to an attempt's bytes and ranges. */
function countSegment(report: AttemptReport, offset: number, length: number): void {
  report.segments += 1;
  report.bytes += length;
  if (length === 0) return;
  const last = report.ranges[report.ranges.length - 1];
  if (last && last.offset + last.length === offset) last.length += length;
  else report.ranges.push({ offset, length });
}

function newTransferId(): string {
  return toHex(randomBytes(16));
}

function cancelled(): UnavailableError {
  return new UnavailableError('cancelled: the client went away');
}

/** The range still to fetch: from the first segment not yet forwarded to the end of the asked range. */
function remainingRange(input: LongDistanceFetchInput, p: Progress): ByteRange {
  if (p.segmentSize === undefined) return { offset: input.offset, length: input.length };
  const end = input.offset + input.length;
  const offset = Math.min(end, Math.max(input.offset, p.next * p.segmentSize));
  return { offset, length: end - offset };
}

/**
 * The generated message as libs/format's checker takes it. Buffers are
 * Uint8Arrays: passed through without copying (a segment may be megabytes),
 * and the same objects are forwarded once verified.
 */
function chunkInput(chunk: SegmentChunk__Output): SegmentChunkInput {
  const seg = chunk.segment;
  return {
    ueb: chunk.part === 'ueb' ? chunk.ueb : undefined,
    segment: chunk.part === 'segment' && seg ? { index: Number(seg.index), ciphertext: seg.ciphertext ?? new Uint8Array(0), proof: seg.proof ?? [] } : null,
  };
}

/** One contact point: read, verify and forward until the range is done, or throw AttemptFailed. */
async function attempt(input: LongDistanceFetchInput, deps: LongDistanceFetchDeps, capText: string, p: Progress, report: AttemptReport): Promise<void> {
  const range = remainingRange(input, p);
  let client: ContactPointClient;
  try {
    client = deps.contactPoint({ address: report.address, publicKey: fromHex(report.contactPoint, 'contact point key', 32) });
  } catch (err) {
    throw new AttemptFailed(`cannot open a channel: ${(err as Error).message}`);
  }
  const stream = client.fetchSegments({ verifyCap: capText, ...rangeToWire(range, input.cap.size), transferId: report.transferId });
  const reader = new ChunkReader(stream, deps.timeoutMs, input.signal);
  // The one check of a received segment stream (libs/format): UEB against the
  // cap, then each segment of the remaining range in order against the tree.
  const checker = new SegmentStreamChecker(input.cap, range);
  let finished = false;
  try {
    const first = await reader.next();
    if (first === null) throw new AttemptFailed('ended the stream without sending the UEB');
    if (first.part !== 'ueb') throw new AttemptFailed(`sent a ${first.part ?? 'empty'} chunk first, expected the UEB`);
    let opened;
    try {
      opened = checker.accept(chunkInput(first));
    } catch (err) {
      throw new AttemptFailed(`sent a bad UEB: ${(err as Error).message}`);
    }
    if (opened.kind !== 'ueb') throw new InternalError('segment stream checker accepted a UEB chunk as a segment');
    if (p.segmentSize === undefined) {
      await input.sink.forward({ ueb: Buffer.from(opened.uebBytes) });
      p.segmentSize = opened.layout.segmentSize;
      p.next = checker.nextIndex;
    }
    while (!checker.complete) {
      const chunk = await reader.next();
      if (chunk === null) throw new AttemptFailed(`ended the stream before segment ${checker.nextIndex}`);
      let got;
      try {
        got = checker.accept(chunkInput(chunk));
      } catch (err) {
        // Dropped: neither forwarded nor counted.
        throw new AttemptFailed(`sent bad data: ${(err as Error).message}`);
      }
      if (got.kind !== 'segment') throw new InternalError('segment stream checker accepted a segment chunk as a UEB');
      // A client already gone is not handed (nor billed) another segment.
      if (input.signal.aborted) throw cancelled();
      await input.sink.forward({ segment: { index: got.index, ciphertext: got.ciphertext, proof: got.proof } });
      p.next = got.index + 1;
      p.bytes += got.ciphertext.length;
      p.segments += 1;
      countSegment(report, got.index * opened.layout.segmentSize, got.ciphertext.length);
      input.sink.onSegmentForwarded?.(got.ciphertext.length);
      if (input.signal.aborted) throw cancelled();
    }
    // Everything the client asked for is forwarded: the client's stream may
    // end now. Let the upstream call end normally in the background (the
    // contact point meters a completed transfer); if it sends more or stalls
    // instead, it is cancelled — that can no longer affect the client.
    finished = true;
    reader.next().then(
      (extra) => reader.close(extra !== null),
      () => reader.close(true),
    );
  } finally {
    if (!finished) reader.close(true);
  }
}

/**
 * Pull-based reader over a server-streaming call: one chunk at a time, each
 * within `timeoutMs`, aborted with the fetch. Reading only on demand keeps
 * grpc-js flow control in charge of the contact point's pace.
 */
class ChunkReader {
  private readonly it: AsyncIterator<SegmentChunk__Output>;
  private done = false;

  constructor(
    private readonly stream: grpc.ClientReadableStream<SegmentChunk__Output>,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal,
  ) {
    this.it = (stream as AsyncIterable<SegmentChunk__Output>)[Symbol.asyncIterator]();
  }

  /** The next chunk, or null at the end of the stream. @throws AttemptFailed on error, stall or abort. */
  async next(): Promise<SegmentChunk__Output | null> {
    if (this.done) return null;
    const pending = this.it.next();
    // If the race below is lost, the pending read rejects later when the call is cancelled.
    pending.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AttemptFailed(`sent nothing for ${this.timeoutMs} ms`)), this.timeoutMs);
      // A lingering upstream call (see attempt's end) must not keep a stopping process alive.
      timer.unref();
      onAbort = () => reject(cancelled());
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
    stall.catch(() => undefined);
    try {
      const r = await Promise.race([pending, stall]);
      if (r.done) {
        this.done = true;
        return null;
      }
      return r.value;
    } catch (err) {
      if (err instanceof AttemptFailed || (err instanceof UnavailableError && this.signal.aborted)) throw err;
      if (isServiceError(err)) {
        const failed = new AttemptFailed(`failed: ${fromServiceError(err).message}`);
        failed.refused = err.code === grpc.status.PERMISSION_DENIED;
        throw failed;
      }
      if (err instanceof Error) throw new AttemptFailed(`failed: ${err.message}`);
      throw new InternalError(`unexpected stream failure: ${String(err)}`);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Ends the call; `cancel` stops a call that is still running upstream. */
  close(cancel: boolean): void {
    if (cancel && !this.done) this.stream.cancel();
    this.done = true;
  }
}
