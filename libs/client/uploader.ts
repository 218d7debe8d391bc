/**
 * Streaming upload (DESIGN.md "Upload (local)"): read the file one segment
 * at a time into one reused buffer, encrypt + erasure-code + hash it
 * (FileEncoder), and write block s of the segment to share s's WriteShare
 * stream. Each share stream gets its header first and its trailer (hash
 * trees + UEB) last. Memory is O(segment size × a small constant): at most
 * two segments' blocks are in flight, and a stream whose buffer is full is
 * waited on ('drain') before the next segment is read — never the whole file.
 *
 * A server that fails mid-upload loses all its shares; the upload carries on
 * as long as the remaining shares still satisfy servers-of-happiness, and
 * otherwise stops, cancels every stream and releases every allocation.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { FileEncoder, planFile, type FileLayout } from '../format/index.js';
import { formatCap, storageIndexFromReadKey, type ReadCap } from '../caps/index.js';
import { InvalidArgumentError, PreconditionError } from '../errors/index.js';
import type { GridConnection } from './grid-connection.js';
import { placeShares, releasePlacement, happinessOf, happinessError, confirmHeldShares, type ServerFailure, type ExpectedShares } from './placement.js';
import { ShareUpload } from './share-upload.js';
import { bytesEqual } from '../crypto/index.js';
import { convergentFileKey, randomReadKey } from './convergence.js';

export interface UploadProgress {
  /** Plaintext bytes encoded and handed to the share streams so far. */
  bytesDone: number;
  size: number;
}

export interface UploadOptions {
  /** Called after each segment (and once at the end). */
  onProgress?(p: UploadProgress): void;
  /** Use this read key instead of a random or convergent one (tests, tools). */
  readKey?: Uint8Array;
  /** Overrides of the config's encoding (k, n, happy, segmentSize). */
  encoding?: Partial<{ k: number; n: number; happy: number; segmentSize: number }>;
}

export interface UploadResult {
  cap: ReadCap;
  /** The read-cap text, carrying the home grid's area code. */
  capText: string;
  storageIndex: Uint8Array;
  /** Where each share ended up (servers that failed mid-upload are not listed). */
  shares: { shnum: number; server: string }[];
  /** Distinct servers holding a share. */
  happiness: number;
  /** Shares a server already held complete (convergent re-upload) and that proved to be this file's own: not sent again. */
  alreadyStored: number[];
  /** Held shares that were NOT this file's (planted or damaged): written again, never counted as stored. */
  mismatchedHeld: { shnum: number; server: string; reason: string }[];
  /** Servers that refused or failed, with reasons. */
  failures: ServerFailure[];
}

/**
 * Uploads the file at `path` to the grid and returns its read-cap.
 * @throws HappinessError / QuotaError when shares cannot reach `happy` servers
 *   (every allocation is released first); PreconditionError if the file
 *   changes size while it is read.
 */
export async function uploadFile(conn: GridConnection, path: string, opts: UploadOptions = {}): Promise<UploadResult> {
  const enc = { ...conn.config.encoding, ...opts.encoding };
  if (enc.happy > enc.n || enc.k > enc.n) throw new InvalidArgumentError(`bad encoding k=${enc.k} n=${enc.n} happy=${enc.happy}`);
  const size = await fileSize(path);
  const layout = planFile(size, { k: enc.k, n: enc.n, segmentSize: enc.segmentSize });
  const readKey =
    opts.readKey ?? (conn.config.convergenceSecret ? await convergentFileKey(conn.config.convergenceSecret, layout, path) : randomReadKey());
  const storageIndex = storageIndexFromReadKey(readKey);

  const placement = await placeShares(conn.servers, storageIndex, layout.shareSize, enc);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    await releasePlacement(placement);
    throw err;
  }
  let confirmedUeb: Uint8Array | undefined;
  try {
    if (placement.alreadyHave.size > 0) {
      // Held shares count only once they are proved ours: that needs our trailers, so encode once without sending.
      const expected = await encodeWithoutSending(fh, layout, readKey);
      confirmedUeb = expected.uebHash;
      await confirmHeldShares(placement, expected, enc, conn.servers.length);
    }
  } catch (err) {
    await releasePlacement(placement);
    await fh.close();
    throw err;
  }
  const upload = new ShareUpload(placement, (live) => {
    const achieved = happinessOf(live);
    if (achieved < enc.happy || live.size < enc.k) throw happinessError(enc, achieved, placement.failures, conn.servers.length);
  });
  try {
    const uebHash = await sendFile(upload, fh, layout, readKey, opts.onProgress);
    if (confirmedUeb && !bytesEqual(confirmedUeb, uebHash)) {
      throw new PreconditionError('file changed while being uploaded (its encoding differs from the one the held shares were checked against)');
    }
    const cap: ReadCap = { kind: 'read', readKey, uebHash, k: enc.k, n: enc.n, size, areaCode: conn.areaCode };
    return {
      cap,
      capText: formatCap(cap),
      storageIndex,
      shares: [...upload.live].map(([shnum, s]) => ({ shnum, server: s.label })).sort((a, b) => a.shnum - b.shnum),
      happiness: happinessOf(upload.live),
      alreadyStored: [...placement.alreadyHave].sort((a, b) => a - b),
      mismatchedHeld: placement.mismatched ?? [],
      failures: placement.failures,
    };
  } catch (err) {
    upload.abort();
    await releasePlacement(placement);
    throw err;
  } finally {
    await fh.close();
  }
}

/** Encodes the file segment by segment into the open share streams; returns the UEB hash. */
async function sendFile(upload: ShareUpload, fh: FileHandle, layout: FileLayout, readKey: Uint8Array, onProgress?: (p: UploadProgress) => void): Promise<Uint8Array> {
  const encoder = new FileEncoder(readKey, layout);
  await upload.send((s) => encoder.shareHeader(s));
  // One buffer for the whole file: encodeSegment copies what it keeps (it encrypts into fresh blocks).
  const buf = new Uint8Array(Math.max(1, layout.segmentSize));
  let done = 0;
  for (let i = 0; i < layout.numSegments; i++) {
    const len = Math.min(layout.segmentSize, layout.size - i * layout.segmentSize);
    await readFully(fh, buf, len, i * layout.segmentSize, layout.size);
    const blocks = encoder.encodeSegment(buf.subarray(0, len));
    await upload.send((s) => blocks[s]!);
    done += len;
    onProgress?.({ bytesDone: done, size: layout.size });
  }
  const finished = encoder.finish();
  await upload.send((s) => finished.trailer(s));
  await upload.finish();
  onProgress?.({ bytesDone: layout.size, size: layout.size });
  return finished.uebHash;
}

/**
 * Encodes the whole file and keeps only what identifies each share: its
 * header and trailer (the encoding is deterministic for one read key, so the
 * upload that follows produces the very same shares).
 */
async function encodeWithoutSending(fh: FileHandle, layout: FileLayout, readKey: Uint8Array): Promise<ExpectedShares & { uebHash: Uint8Array }> {
  const encoder = new FileEncoder(readKey, layout);
  const buf = new Uint8Array(Math.max(1, layout.segmentSize));
  for (let i = 0; i < layout.numSegments; i++) {
    const len = Math.min(layout.segmentSize, layout.size - i * layout.segmentSize);
    await readFully(fh, buf, len, i * layout.segmentSize, layout.size);
    encoder.encodeSegment(buf.subarray(0, len));
  }
  const finished = encoder.finish();
  return { header: (s) => encoder.shareHeader(s), trailer: (s) => finished.trailer(s), trailerOffset: layout.blockTreeOffset, uebHash: finished.uebHash };
}

/** The size of a regular file, or an error naming the path. */
async function fileSize(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (!st.isFile()) throw new InvalidArgumentError(`'${path}' is not a regular file`);
  return st.size;
}

/** Reads exactly `len` bytes at `position`; a file that shrank or grew mid-upload is an error, never a wrong cap. */
async function readFully(fh: FileHandle, buf: Uint8Array, len: number, position: number, size: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const { bytesRead } = await fh.read(buf, off, len - off, position + off);
    if (bytesRead === 0) throw new PreconditionError(`file shrank while being uploaded (expected ${size} bytes, ended at ${position + off})`);
    off += bytesRead;
  }
}
