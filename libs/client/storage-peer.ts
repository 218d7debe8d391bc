/**
 * The client's view of one storage server: a typed, promise-based wrapper
 * around the generated Storage stub. Every call goes through the channel's
 * auth interceptor (installed by grid-connection.ts), and every gRPC error
 * comes back as a domain error prefixed with the server's name, so the user
 * learns which server failed and why.
 */
import * as grpc from '@grpc/grpc-js';
import { call, deadline, fromServiceError } from '../rpc/index.js';
import { InvalidArgumentError, LayoutInvalidError, UnavailableError, type IntergridError } from '../errors/index.js';
import type { ByteRange } from '../format/index.js';
import type { StorageClient, AllocateBucketsRequest, AllocateBucketsResponse__Output, AbortSharesRequest, ListSharesRequest, ListSharesResponse__Output, AdviseCorruptRequest, RenewLeaseRequest, RenewLeaseResponse__Output, Empty__Output, WriteShareRequest, WriteShareResponse__Output } from '../rpc/proto-types.js';


/** Largest data message of a WriteShare stream. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

/** A WriteShare stream making no progress this long is given up (the server is treated as failed). */
const WRITE_STALL_MS = 60_000;

/** Deadline for one ReadShare call (all its ranges). */
const READ_DEADLINE_MS = 60_000;

/** An open WriteShare stream for one share. */
export interface ShareWriter {
  readonly shnum: number;
  /**
   * Queues `data`; resolves once the stream can take more (after 'drain' when
   * the stream's buffer is full), so callers never outrun the network.
   */
  write(data: Uint8Array): Promise<void>;
  /** Half-closes and resolves with the server's acknowledgement (share durable). */
  finish(): Promise<WriteShareResponse__Output>;
  /** Cancels the stream; the server discards the partial share. */
  cancel(): void;
  /** The first error the stream saw, if any. */
  readonly error: IntergridError | undefined;
}

export class StoragePeer {
  constructor(
    /** The server's name in the grid's directory. */
    readonly name: string,
    /** Hex of the server's Ed25519 public key (its identity in the directory). */
    readonly publicKeyHex: string,
    readonly publicKey: Uint8Array,
    readonly address: string,
    readonly client: StorageClient,
  ) {}

  /** "storage-03 (127.0.0.1:4003)": how errors and reports name this server. */
  get label(): string {
    return `${this.name} (${this.address})`;
  }

  /**
   * Reserves shares; `replace` lists held shares this client read and found
   * not to be its own, to be allocated beside them (proto/storage.proto).
   */
  async allocateBuckets(storageIndex: Uint8Array, shareNumbers: number[], shareSize: number, replace: number[] = []): Promise<{ alreadyHave: number[]; allocated: number[] }> {
    const res = await call<AllocateBucketsRequest, AllocateBucketsResponse__Output>(
      this.client,
      this.client.allocateBuckets,
      { storageIndex, shareNumbers, shareSize, ...(replace.length > 0 ? { replace } : {}) },
      { peer: this.label },
    );
    return { alreadyHave: [...res.alreadyHave], allocated: [...res.allocated] };
  }

  async abortShares(storageIndex: Uint8Array, shareNumbers: number[]): Promise<void> {
    await call<AbortSharesRequest, Empty__Output>(this.client, this.client.abortShares, { storageIndex, shareNumbers }, { peer: this.label });
  }

  /** Complete shares held for a storage index: share number -> size. */
  async listShares(storageIndex: Uint8Array, deadlineMs?: number): Promise<Map<number, number>> {
    const res = await call<ListSharesRequest, ListSharesResponse__Output>(this.client, this.client.listShares, { storageIndex }, { peer: this.label, ...(deadlineMs ? { deadlineMs } : {}) });
    return new Map(res.shares.map((s) => [s.shareNumber, Number(s.size)]));
  }

  /** Adds or renews the calling account's lease on a storage index; resolves with its new expiry (Unix ms). */
  async renewLease(storageIndex: Uint8Array): Promise<number> {
    const res = await call<RenewLeaseRequest, RenewLeaseResponse__Output>(this.client, this.client.renewLease, { storageIndex }, { peer: this.label });
    return Number(res.leaseExpiresAtMs);
  }

  async adviseCorrupt(storageIndex: Uint8Array, shareNumber: number, reason: string): Promise<void> {
    await call<AdviseCorruptRequest, Empty__Output>(this.client, this.client.adviseCorrupt, { storageIndex, shareNumber, reason: reason.slice(0, 500) }, { peer: this.label });
  }

  /**
   * Reads several ranges of one share with ONE ReadShare call. Resolves with
   * one buffer per range, each exactly `length` bytes: `into[i]` when given
   * (the caller's buffer, filled as chunks arrive, before anything is
   * verified), else a new one; a short or misplaced answer is a
   * LayoutInvalidError (the share is treated as bad, not trusted).
   */
  readRanges(storageIndex: Uint8Array, shareNumber: number, ranges: readonly ByteRange[], into: readonly (Uint8Array | undefined)[] = []): Promise<Uint8Array[]> {
    ranges.forEach((r, i) => {
      if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) {
        throw new InvalidArgumentError(`bad share range {offset: ${r.offset}, length: ${r.length}}`);
      }
      if (into[i] !== undefined && into[i]!.length !== r.length) throw new InvalidArgumentError(`buffer for range ${i} is ${into[i]!.length} bytes, the range ${r.length}`);
    });
    const out = ranges.map((r, i) => into[i] ?? new Uint8Array(r.length));
    const filled = ranges.map(() => 0);
    if (ranges.length === 0) return Promise.resolve(out);
    return new Promise((resolve, reject) => {
      let failed: IntergridError | undefined;
      const stream = this.client.readShare(
        { storageIndex, shareNumber, ranges: ranges.map((r) => ({ offset: r.offset, length: r.length })) },
        new grpc.Metadata(),
        { deadline: deadline(READ_DEADLINE_MS) },
      );
      const fail = (e: IntergridError) => {
        if (failed) return;
        failed = e;
        stream.cancel();
        reject(e);
      };
      stream.on('data', (chunk: { rangeIndex: number; offset: number; data: Buffer }) => {
        // After a failure the caller may already reuse `into` for another read.
        if (failed) return;
        const i = chunk.rangeIndex;
        const r = ranges[i];
        const buf = out[i];
        const f = filled[i];
        // Chunks of a range arrive in order; anything else is a broken server.
        if (r === undefined || buf === undefined || f === undefined || Number(chunk.offset) !== r.offset + f || f + chunk.data.length > r.length) {
          fail(new LayoutInvalidError(`${this.label}: share ${shareNumber} answered a chunk outside the requested ranges (range ${i}, offset ${chunk.offset})`));
          return;
        }
        buf.set(chunk.data, f);
        filled[i] = f + chunk.data.length;
      });
      stream.on('error', (err) => {
        if (!failed) {
          failed = fromServiceError(err, this.label);
          reject(failed);
        }
      });
      stream.on('end', () => {
        if (failed) return;
        const short = ranges.findIndex((r, i) => filled[i] !== r.length);
        if (short >= 0) {
          const r = ranges[short]!;
          failed = new LayoutInvalidError(
            `${this.label}: share ${shareNumber} is short: range [${r.offset}, ${r.offset + r.length}) returned ${filled[short]} of ${r.length} bytes`,
          );
          reject(failed);
          return;
        }
        resolve(out);
      });
    });
  }

  /**
   * Opens a WriteShare stream and sends its header message. No overall
   * deadline (a large share takes as long as the network needs), but a stall
   * watchdog: a write that makes no progress for `stallMs`, or a close not
   * acknowledged within 2 × `stallMs`, cancels the stream with an
   * UnavailableError, so a peer that hangs cannot hang the upload.
   */
  openShareWriter(storageIndex: Uint8Array, shareNumber: number, shareSize: number, stallMs = WRITE_STALL_MS): ShareWriter {
    const label = this.label;
    let error: IntergridError | undefined;
    let response: WriteShareResponse__Output | undefined;
    // Everyone waiting on this stream (writes and finish) is told of the first error.
    const waiters = new Set<{ ok?: (r: WriteShareResponse__Output) => void; fail: (e: IntergridError) => void }>();
    const failAll = (err: unknown) => {
      error ??= fromServiceError(err, label);
      for (const w of waiters) w.fail(error);
      waiters.clear();
    };
    const stream = this.client.writeShare(new grpc.Metadata(), {}, (err, res) => {
      if (err || !res) {
        failAll(err ?? new Error('no response'));
      } else {
        response = res;
        for (const w of waiters) w.ok?.(res);
        waiters.clear();
      }
    });
    // Without a listener an 'error' event would crash the process.
    stream.on('error', failAll);
    const watchdog = (ms: number, what: string): NodeJS.Timeout => {
      const t = setTimeout(() => {
        failAll(new UnavailableError(`${label}: share ${shareNumber}: no progress for ${Math.round(ms / 1000)} s while ${what}`));
        stream.cancel();
      }, ms);
      t.unref();
      return t;
    };
    const first: WriteShareRequest = { header: { storageIndex, shareNumber, shareSize } };
    stream.write(first);
    // Queues every piece synchronously (so concurrent write() calls can never
    // interleave), then waits for all their write callbacks and, once, for 'drain'.
    const writePieces = (data: Uint8Array): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const timer = watchdog(stallMs, 'writing');
        const waiter = {
          fail: (e: IntergridError) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        waiters.add(waiter);
        let waiting = 1; // released after the loop, so early callbacks cannot resolve too soon
        const done = () => {
          if (--waiting === 0) {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          }
        };
        let full = false;
        for (let off = 0; off < data.length; off += WRITE_CHUNK_BYTES) {
          waiting++;
          const piece = data.subarray(off, off + WRITE_CHUNK_BYTES);
          const ok = stream.write({ data: piece } satisfies WriteShareRequest, (err?: Error | null) => {
            if (err) failAll(err);
            else done();
          });
          if (!ok) full = true;
        }
        if (full) {
          waiting++;
          stream.once('drain', done);
        }
        done();
      });
    return {
      shnum: shareNumber,
      get error() {
        return error;
      },
      write(data: Uint8Array): Promise<void> {
        if (error) return Promise.reject(error);
        // Messages stay well under the channel's max message size whatever the block size.
        return writePieces(data);
      },
      finish(): Promise<WriteShareResponse__Output> {
        if (error) return Promise.reject(error);
        if (response) return Promise.resolve(response);
        return new Promise((resolve, reject) => {
          const timer = watchdog(2 * stallMs, 'waiting for the server to store the share');
          waiters.add({
            ok: (r) => {
              clearTimeout(timer);
              resolve(r);
            },
            fail: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          stream.end();
        });
      },
      cancel(): void {
        stream.cancel();
      },
    };
  }

  close(): void {
    this.client.close();
  }
}
