/**
 * Issue 11 item 9 on a real storage server (gRPC on loopback, SQLite, data
 * dir): a reader that never reads and a writer that goes silent are cut off
 * by the configured deadlines, their slots are freed, their partial shares
 * are never served; and the per-caller stream limit refuses one caller's
 * N+1-th stream with RESOURCE_EXHAUSTED while another caller is served.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import { StorageFixture, patternBytes, storageIndex, type StoragePeerForTests } from './storage-fixture.js';

const STALL_MS = 800;
const IDLE_MS = 800;
const SHARE = 16 * 1024 * 1024; // twice what a non-reader absorbs: the 4 MiB HTTP/2 stream window (libs/rpc/http2-settings.ts) + 16 queued 256 KiB chunks

describe('storage server: slow and silent peers', () => {
  const fx = new StorageFixture({ streamStallMs: STALL_MS, writeIdleMs: IDLE_MS, maxStreamsPerCaller: 2 });
  let alice: StoragePeerForTests;
  let bob: StoragePeerForTests;
  const si = storageIndex(91);
  const bytes = patternBytes(SHARE, 91);

  beforeAll(async () => {
    await fx.start();
    alice = fx.client(fx.identity('client', generateKeyPair()));
    bob = fx.client(fx.identity('client', generateKeyPair()));
    await alice.allocate(si, [0], SHARE);
    await alice.write(si, 0, bytes);
  });
  afterAll(() => fx.cleanup());

  /**
   * A ReadShare of the whole share whose receiver never consumes: one read(0)
   * starts grpc-js reading, it fills the stream's 16-message buffer, then
   * pauses the HTTP/2 stream, and flow control stops the server's writes.
   */
  function neverRead(peer: StoragePeerForTests): Promise<ServiceError | 'ended'> {
    const s = peer.raw.ReadShare({ storageIndex: si, shareNumber: 0, ranges: [{ offset: 0, length: SHARE }] });
    s.pause();
    s.read(0);
    return new Promise((resolve) => {
      s.on('error', (e: ServiceError) => resolve(e));
      s.on('end', () => resolve('ended'));
    });
  }

  it('ends a ReadShare whose receiver reads nothing, freeing its slot; other callers are served meanwhile', async () => {
    const started = Date.now();
    const stalled = [neverRead(alice), neverRead(alice)];
    await new Promise((r) => setTimeout(r, 150));
    // Both of alice's slots are held by readers that do not read: her third stream is refused, bob is served.
    await expect(alice.read(si, 0, [{ offset: 0, length: 10 }])).rejects.toMatchObject({ code: 'BUSY', message: expect.stringMatching(/limit 2 per caller/) });
    const [got] = await bob.read(si, 0, [{ offset: 0, length: SHARE }]);
    expect(Buffer.compare(got!, Buffer.from(bytes))).toBe(0);

    const outcomes = await Promise.all(stalled);
    for (const o of outcomes) expect(o).not.toBe('ended');
    // The stream was reset (the peer cannot read the status queued behind the data it never took) within the deadline plus the reset grace.
    expect(Date.now() - started).toBeLessThan(STALL_MS + 1000 + 2000);
    // Alice's slots are free again.
    const [again] = await alice.read(si, 0, [{ offset: 0, length: 16 }]);
    expect(Buffer.compare(again!, Buffer.from(bytes.subarray(0, 16)))).toBe(0);
  });

  it('ends a WriteShare that goes silent with DEADLINE_EXCEEDED, discards its partial share and frees its slot', async () => {
    const si2 = storageIndex(92);
    await alice.allocate(si2, [0], 4096);
    const { stream, done } = alice.openWrite(si2, 0, 4096);
    stream.write({ data: Buffer.alloc(100, 7) });
    const started = Date.now();
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'DEADLINE', message: expect.stringMatching(/sent nothing for 0\.8 s.*partial share discarded/) });
    expect(((err as Error).cause as ServiceError).code).toBe(Status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(IDLE_MS + 1500);
    stream.cancel();
    // Nothing of it is visible or left on disk.
    expect((await alice.list(si2)).shares).toEqual([]);
    expect(readdirSync(join(fx.dataDir, 'incoming'))).toEqual([]);
    // The slot is free: the same caller can now write the share whole.
    const full = patternBytes(4096, 92);
    await alice.write(si2, 0, full);
    const [back] = await alice.read(si2, 0, [{ offset: 0, length: 4096 }]);
    expect(Buffer.compare(back!, Buffer.from(full))).toBe(0);
  });

  it('refuses the third concurrent WriteShare of one caller with RESOURCE_EXHAUSTED while another caller writes', async () => {
    const si3 = storageIndex(93);
    await alice.allocate(si3, [0, 1, 2], 1000);
    await bob.allocate(si3, [0, 1, 2], 1000);
    const open = [alice.openWrite(si3, 0, 1000), alice.openWrite(si3, 1, 1000)];
    await new Promise((r) => setTimeout(r, 150));
    const third = alice.openWrite(si3, 2, 1000);
    const err = await third.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BUSY', message: expect.stringMatching(/too many storage streams.*limit 2 per caller/) });
    expect(((err as Error).cause as ServiceError).code).toBe(Status.RESOURCE_EXHAUSTED);
    // Bob is not affected by alice's streams.
    await expect(bob.write(si3, 2, patternBytes(1000, 3))).resolves.toMatchObject({ bytesWritten: 1000 });
    for (const [i, o] of open.entries()) {
      o.stream.write({ data: Buffer.from(patternBytes(1000, i)) });
      o.stream.end();
      await expect(o.done).resolves.toMatchObject({ bytesWritten: 1000 });
    }
  });
});
