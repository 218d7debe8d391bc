/**
 * Local download (DESIGN.md "Download (local)"): find the shares, read and
 * verify the UEB against the cap, then stream verified ciphertext segments
 * (segment-fetcher.ts) and decrypt them. Segments are read a few at a time
 * (one ReadShare per share for several segments), the next group while the
 * current one is consumed; memory stays O(segment size × segments per read × 2).
 *
 * Every byte handed to the sink belongs to a segment whose blocks were
 * verified up to the UEB hash in the cap and whose ciphertext matched the
 * ciphertext tree: verification always happens before a byte is written.
 */
import { segmentsForRange, decryptSegment, clampRange, type ByteRange } from '../format/index.js';
import { isLongDistance, toVerifyCap, type Cap, type VerifyCap } from '../caps/index.js';
import { PreconditionError } from '../errors/index.js';
import { fromHex } from '../crypto/index.js';
import type { GridConnection, StorageSession } from './grid-connection.js';
import { findShares, readFileInfo, readOrder, type ShareLocation } from './share-map.js';
import { SegmentFetcher, emptyReport, type DownloadReport, type SegmentWithProof } from './segment-fetcher.js';
import { gatewaySegments } from './gateway-segments.js';
import type { CiphertextSegment, SegmentOptions } from './ciphertext-segment.js';

function verifyCapOf(cap: Cap): VerifyCap {
  return cap.kind === 'verify' ? cap : toVerifyCap(cap);
}

/**
 * Verified ciphertext segments of the file named by `cap` (a read-cap or a
 * verify-cap: no key is needed to verify), in order.
 * @throws NotFoundError (no shares), NotEnoughSharesError (fewer than k good
 *   shares), IntegrityError (inconsistent encoding), InvalidArgumentError (range).
 */
export async function* ciphertextSegments(
  conn: StorageSession,
  cap: Cap,
  range?: ByteRange,
  opts: SegmentOptions = {},
): AsyncGenerator<CiphertextSegment, void, undefined> {
  const vcap = verifyCapOf(cap);
  if (isLongDistance(vcap, conn.areaCode)) {
    throw new PreconditionError(
      `this cap is for area code ${vcap.areaCode ?? '?'}, not the home grid ${conn.areaCode}: long-distance downloads go through the gateway`,
    );
  }
  const want = clampRange(range, vcap.size);
  const report = opts.report ?? emptyReport();
  // Start as soon as k shares are known; slower servers join as failover candidates.
  const late: { fetcher?: SegmentFetcher; waiting: ShareLocation[] } = { waiting: [] };
  const map = await findShares(conn.servers, vcap.storageIndex, {
    early: { k: vcap.k },
    onLate: (loc) => (late.fetcher ? late.fetcher.addLocation(loc) : late.waiting.push(loc)),
  });
  for (const u of map.unreachable) report.unavailable.push({ server: u.server.label, reason: u.reason });
  const locations = readOrder(map.locations, vcap.k, opts.prefer); // a snapshot: late copies arrive via onLate
  const info = await readFileInfo({ ...map, locations }, vcap.storageIndex, vcap);
  for (const b of info.bad) if (b.corrupt) report.corrupt.push({ server: b.location.server.label, shnum: b.location.shnum, reason: b.reason });
  opts.onOpen?.(info);
  if (want.length === 0 || info.layout.size === 0) return;

  const usable = locations.filter((l) => !info.bad.some((b) => b.location === l && b.corrupt));
  const fetcher = new SegmentFetcher(vcap.storageIndex, info.layout, info.ueb, [...usable, ...late.waiting], report);
  late.fetcher = fetcher;
  const { first, last } = segmentsForRange(info.layout, want.offset, want.length);
  const perRead = opts.segmentsPerRead ?? segmentsPerRead(info.layout.segmentSize);
  // The group being yielded and the next one being read: O(segment size × perRead × 2) in memory.
  let next = first;
  const read = (): Promise<SegmentWithProof[]> => {
    const count = Math.min(perRead, last - next + 1);
    const p = fetcher.segmentsWithProof(next, count);
    p.catch(() => undefined); // awaited below, in order
    next += count;
    return p;
  };
  let pending = read();
  for (let i = first; i <= last; ) {
    const group = await pending;
    if (next <= last) pending = read();
    for (const { ciphertext, proof } of group) {
      yield { index: i, offset: i * info.layout.segmentSize, ciphertext, proof };
      i++;
    }
  }
}

/**
 * Verified ciphertext segments of any file a client can name: a cap of
 * another grid comes through the home grid's gateway (only its verify-cap is
 * sent), a local one straight from the servers.
 */
export function fileSegments(conn: GridConnection, cap: Cap, range?: ByteRange, opts: SegmentOptions = {}): AsyncGenerator<CiphertextSegment, void, undefined> {
  if (!isLongDistance(cap, conn.areaCode)) return ciphertextSegments(conn, cap, range, opts);
  const gw = conn.config.gateway;
  return gatewaySegments(gw ? { address: gw.address, publicKey: fromHex(gw.publicKey), identity: conn.identity } : undefined, cap, range, opts);
}

/** Ciphertext read per ReadShare round: 4 MiB (4 segments of the default 1 MiB), at least one segment, at most 16. */
const READ_ROUND_BYTES = 4 * 1024 * 1024;
const MAX_SEGMENTS_PER_READ = 16;

/** Segments each slot reads per ReadShare call for segments of `segmentSize` bytes. */
export function segmentsPerRead(segmentSize: number): number {
  return Math.max(1, Math.min(MAX_SEGMENTS_PER_READ, Math.floor(READ_ROUND_BYTES / segmentSize)));
}

/** Where decrypted bytes go: a Node writable stream, or a function awaited per chunk. */
export type DownloadSink = NodeJS.WritableStream | ((chunk: Uint8Array) => Promise<void>);

export interface DownloadOptions extends Omit<SegmentOptions, 'onOpen'> {
  /** Only this byte range (default: the whole file). */
  range?: ByteRange;
  /** Called after each chunk is written. */
  onProgress?(p: { bytesDone: number; total: number }): void;
}

export interface DownloadResult {
  /** Bytes written to the sink. */
  bytes: number;
  report: DownloadReport;
}

/**
 * Downloads the file named by `cap` (or the given byte range of it), writing
 * verified bytes to `sink` with backpressure: decrypted for a read-cap, the
 * ciphertext itself for a verify-cap (which has no key).
 */
export async function downloadFile(conn: GridConnection, cap: Cap, sink: DownloadSink, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const range = clampRange(opts.range, cap.size);
  const report = opts.report ?? emptyReport();
  const write = typeof sink === 'function' ? sink : (chunk: Uint8Array) => writeToStream(sink, chunk);
  const end = range.offset + range.length;
  let bytes = 0;
  for await (const seg of fileSegments(conn, cap, range, { ...opts, report })) {
    // In place: the segment's ciphertext is this loop's own (nothing else holds it).
    const plain = cap.kind === 'read' ? decryptSegment(cap.readKey, seg.index, seg.ciphertext, seg.ciphertext) : seg.ciphertext;
    const from = Math.max(range.offset, seg.offset) - seg.offset;
    const to = Math.min(end, seg.offset + plain.length) - seg.offset;
    if (to <= from) continue;
    await write(plain.subarray(from, to));
    bytes += to - from;
    opts.onProgress?.({ bytesDone: bytes, total: range.length });
  }
  return { bytes, report };
}

function writeToStream(stream: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    stream.once('error', onError);
    const ok = stream.write(chunk, (err?: Error | null) => {
      if (err) reject(err);
    });
    const done = () => {
      stream.removeListener('error', onError);
      resolve();
    };
    if (ok) done();
    else stream.once('drain', done);
  });
}
