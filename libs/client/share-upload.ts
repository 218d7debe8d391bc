/**
 * Open share streams of one placement, written in lockstep: the uploader
 * (plaintext encoded on the fly) and the repairer (shares rebuilt from
 * verified ciphertext) both send header, blocks segment by segment, trailer.
 * At most PIPELINE_DEPTH steps are in flight, and a stream whose buffer is
 * full is waited on ('drain') before the next step: memory stays O(segment).
 *
 * A server that fails loses every share it held in this placement (its
 * streams are cancelled, its allocations released); after each step the
 * caller's `require` decides whether what is left is still worth finishing
 * (the uploader: servers-of-happiness) and throws if not.
 */
import { briefReason, releasePlacement, type Placement } from './placement.js';
import type { ShareWriter, StoragePeer } from './storage-peer.js';

/** Depth of the segment pipeline: segment i is encoded while segment i−1 is still being sent. */
const PIPELINE_DEPTH = 2;

export class ShareUpload {
  /** share -> server for every share still expected to succeed */
  readonly live: Map<number, StoragePeer>;
  private readonly writers = new Map<number, ShareWriter>();
  private readonly failedServers = new Set<StoragePeer>();
  private readonly inflight: Promise<void>[] = [];

  /** Opens a stream for every placed share not already held. */
  constructor(
    private readonly placement: Placement,
    private readonly require: (live: ReadonlyMap<number, StoragePeer>) => void,
  ) {
    this.live = new Map(placement.shares);
    for (const [shnum, server] of placement.shares) {
      if (placement.alreadyHave.has(shnum)) continue;
      this.writers.set(shnum, server.openShareWriter(placement.storageIndex, shnum, placement.shareSize));
    }
  }

  /** Sends the next piece of every open share (`bytesFor(shnum)`), pipelined. */
  async send(bytesFor: (shnum: number) => Uint8Array): Promise<void> {
    this.inflight.push(this.writeAll(bytesFor));
    if (this.inflight.length >= PIPELINE_DEPTH) await this.inflight.shift();
    this.require(this.live);
  }

  /** Waits for every piece, then closes every stream; a share counts only once its server acknowledged it (fsynced, renamed). */
  async finish(): Promise<void> {
    while (this.inflight.length) await this.inflight.shift();
    this.require(this.live);
    await Promise.all(
      [...this.writers].map(([shnum, w]) =>
        w.finish().then(
          () => undefined,
          (err: unknown) => this.fail(shnum, err),
        ),
      ),
    );
    this.require(this.live);
  }

  /** Cancels every open stream (the servers drop the partial shares). */
  abort(): void {
    for (const w of this.writers.values()) w.cancel();
    this.writers.clear();
  }

  private writeAll(bytesFor: (shnum: number) => Uint8Array): Promise<void> {
    return Promise.all(
      [...this.writers].map(([shnum, w]) =>
        w.write(bytesFor(shnum)).catch((err: unknown) => {
          this.fail(shnum, err);
        }),
      ),
    ).then(() => undefined);
  }

  /** A share stream failed: its server loses every share it held in this placement. */
  private fail(shnum: number, err: unknown): void {
    const server = this.placement.shares.get(shnum);
    if (!server || this.failedServers.has(server)) return;
    this.failedServers.add(server);
    this.placement.failures.push({ server: server.label, name: server.name, reason: briefReason(server, err), error: err });
    for (const [s, owner] of this.placement.shares) {
      if (owner !== server) continue;
      this.live.delete(s);
      this.writers.get(s)?.cancel();
      this.writers.delete(s);
    }
    void releasePlacement(this.placement, new Set([server]));
  }
}
