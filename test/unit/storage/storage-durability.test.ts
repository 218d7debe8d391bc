/**
 * What the storage server keeps across restarts, what startup reconciliation
 * removes, lease expiry and GC, and cancelled uploads — on SQLite and
 * PostgreSQL (test/fixtures/database-backends.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageFixture, patternBytes, storageIndex } from './storage-fixture.js';
import { toHex } from '../../../libs/crypto/index.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

let f: StorageFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

function sharePath(fx: StorageFixture, si: Uint8Array, shnum: number): string {
  const hex = toHex(si);
  return join(fx.dataDir, 'shares', hex.slice(0, 2), hex, String(shnum));
}

function incomingFiles(fx: StorageFixture): string[] {
  const dir = join(fx.dataDir, 'incoming');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((si) => readdirSync(join(dir, si)).map((n) => join(si, n)));
}

for (const backend of databaseBackends('storage-durability')) describe(`storage durability on ${backend.name}`, () => {
  beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
  afterAll(() => backend.teardown());

  it('keeps every acknowledged share across a restart on the same dirs', async () => {
    f = new StorageFixture({ database: await backend.fresh() });
    await f.start();
    const id = f.identity('client');
    let c = f.client(id);
    const written = new Map<number, Uint8Array>();
    for (let i = 0; i < 4; i++) {
      const si = storageIndex(100 + i);
      const bytes = patternBytes(10_000 + i * 777, i + 1);
      await c.allocate(si, [i], bytes.length);
      await c.write(si, i, bytes);
      written.set(i, bytes);
    }
    await f.stop();
    await f.start();
    c = f.client(id);
    for (const [i, bytes] of written) {
      const si = storageIndex(100 + i);
      expect((await c.list(si)).shares).toEqual([{ shareNumber: i, size: bytes.length }]);
      const [got] = await c.read(si, i, [{ offset: 0, length: bytes.length }]);
      expect(Buffer.compare(got!, Buffer.from(bytes))).toBe(0);
    }
  });

  it('reconciles at startup: removes temp files, orphan share files and rows whose file is missing or wrong', async () => {
    f = new StorageFixture({ database: await backend.fresh() });
    await f.start();
    const c = f.client(f.identity('client'));
    const keep = storageIndex(200);
    const lost = storageIndex(201);
    const damaged = storageIndex(202);
    for (const si of [keep, lost, damaged]) {
      await c.allocate(si, [0], 1000);
      await c.write(si, 0, patternBytes(1000));
    }
    await f.stop();

    const halfWritten = join(f.dataDir, 'incoming', toHex(keep), '1.0123456789abcdef');
    mkdirSync(join(f.dataDir, 'incoming', toHex(keep)), { recursive: true });
    writeFileSync(halfWritten, patternBytes(300));
    const orphan = sharePath(f, keep, 5);
    writeFileSync(orphan, patternBytes(1000));
    rmSync(sharePath(f, lost, 0));
    truncateSync(sharePath(f, damaged, 0), 999);

    const server = await f.start();
    expect(server.reconciled).toEqual({ incomingRemoved: 1, orphanFilesRemoved: 1, rowsRemoved: 2 });
    expect(existsSync(halfWritten)).toBe(false);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(sharePath(f, damaged, 0))).toBe(false);
    const c2 = f.client(f.identity('client'));
    expect((await c2.list(keep)).shares).toEqual([{ shareNumber: 0, size: 1000 }]);
    expect((await c2.list(lost)).shares).toEqual([]);
    expect((await c2.list(damaged)).shares).toEqual([]);
  });

  it('garbage-collects shares whose leases expired and keeps renewed ones', async () => {
    f = new StorageFixture({ database: await backend.fresh(), leaseDurationMs: 60_000 });
    const server = await f.start();
    const c = f.client(f.identity('client'));
    const renewed = storageIndex(300);
    const expired = storageIndex(301);
    for (const si of [renewed, expired]) {
      await c.allocate(si, [0, 1], 500);
      await c.write(si, 0, patternBytes(500));
      await c.write(si, 1, patternBytes(500, 9));
    }
    f.clock.offsetMs += 30_000;
    const lease = await c.renew(renewed);
    // The renewal moves the expiry past the original one (written at offset 0, lease 60 s).
    expect(lease.leaseExpiresAtMs).toBeGreaterThan(f.clock.now() + 30_000 - 1000);
    f.clock.offsetMs += 31_000;

    const gc = await server.collectGarbage();
    expect(gc.sharesDeleted).toBe(2);
    expect(gc.bytesFreed).toBe(1000);
    expect((await c.list(expired)).shares).toEqual([]);
    expect(existsSync(sharePath(f, expired, 0))).toBe(false);
    expect((await c.list(renewed)).shares).toHaveLength(2);
    expect(existsSync(sharePath(f, renewed, 0))).toBe(true);
  });

  it('expires reservations that were never written', async () => {
    f = new StorageFixture({ database: await backend.fresh(), reservationTtlMs: 60_000 });
    const server = await f.start();
    const c = f.client(f.identity('client', undefined, { quota_bytes: 1000 }));
    await c.allocate(storageIndex(400), [0, 1], 500);
    await expect(c.allocate(storageIndex(401), [0], 500)).rejects.toMatchObject({ code: 'QUOTA' });
    f.clock.offsetMs += 61_000;
    expect((await server.collectGarbage()).reservationsExpired).toBe(2);
    await expect(c.allocate(storageIndex(401), [0], 500)).resolves.toMatchObject({ allocated: [0] });
  });

  it('leaves nothing visible after a cancelled upload, and the next upload of the share succeeds', async () => {
    f = new StorageFixture({ database: await backend.fresh() });
    await f.start();
    const fx = f;
    const c = f.client(f.identity('client'));
    const si = storageIndex(500);
    const bytes = patternBytes(200_000, 5);
    await c.allocate(si, [2], bytes.length);
    const { stream, done } = c.openWrite(si, 2, bytes.length);
    stream.write({ data: bytes.subarray(0, 100_000) });
    await vi.waitFor(() => expect(incomingFiles(fx)).toHaveLength(1), { timeout: 10_000 });
    stream.cancel();
    await expect(done).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await c.list(si)).shares).toEqual([]);
    await vi.waitFor(() => expect(incomingFiles(fx)).toEqual([]), { timeout: 10_000 });

    // The reservation survived the broken stream; a retried allocation refreshes it.
    expect((await c.allocate(si, [2], bytes.length)).allocated).toEqual([2]);
    await c.write(si, 2, bytes);
    const [got] = await c.read(si, 2, [{ offset: 0, length: bytes.length }]);
    expect(Buffer.compare(got!, Buffer.from(bytes))).toBe(0);
  });

  it('survives the grid manager being unreachable', async () => {
    f = new StorageFixture({ database: await backend.fresh(), announceIntervalMs: 50, revocationPollMs: 50, usageReportIntervalMs: 50 });
    const server = await f.start();
    await expect(server.gridLink.announce()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const c = f.client(f.identity('client'));
    expect((await c.list(storageIndex(600))).shares).toEqual([]);
  });
});
