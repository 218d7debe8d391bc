/**
 * MetadataStore contract suite, run unchanged on SQLite and (when initdb and
 * pg_ctl are on PATH) a throwaway PostgreSQL (STYLE.md §10).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetadataStore } from '../../../services/storage/metadata-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';


const SI = 'a'.repeat(32);
const SI2 = 'b'.repeat(32);
const ALICE = '1'.repeat(64);
const BOB = '2'.repeat(64);
const T = 1_700_000_000_000;
const LEASE = 1000;
const TTL = 500;

for (const backend of databaseBackends('storage-meta')) {
  describe(`storage metadata store on ${backend.name}`, () => {
    let store: MetadataStore;
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    afterEach(async () => {
      await store?.close();
    });
    const open = async (): Promise<MetadataStore> => (store = await MetadataStore.open(await backend.fresh()));
    const allocate = (s: MetadataStore, si: string, shareNumbers: number[], size: number, account = ALICE, quotaBytes = 0, now = T) =>
      s.allocate({ storageIndex: si, shareNumbers, size, account, quotaBytes, now, leaseDurationMs: LEASE, reservationTtlMs: TTL });
    const commit = (s: MetadataStore, si: string, shareNumber: number, size: number, account = ALICE, now = T) =>
      s.commitShare({ storageIndex: si, shareNumber, size, account, now, leaseDurationMs: LEASE });

    it('makes a committed share visible, leased, and no longer reserved', async () => {
      const s = await open();
      await allocate(s, SI, [0, 1], 100);
      expect(await s.listShares(SI)).toEqual([]);
      expect(await commit(s, SI, 0, 100)).toEqual({ leaseExpiresAtMs: T + LEASE });
      expect(await s.listShares(SI)).toEqual([{ storageIndex: SI, shareNumber: 0, size: 100 }]);
      expect(await s.accountUsage(ALICE, T)).toEqual({ account: ALICE, storedBytes: 100, shares: 1, reservedBytes: 100 });
    });

    it('returns held shares as already_have and leases them to the caller', async () => {
      const s = await open();
      await allocate(s, SI, [0], 100);
      await commit(s, SI, 0, 100);
      expect(await allocate(s, SI, [0, 1], 100, BOB)).toEqual({ alreadyHave: [0], allocated: [1] });
      expect((await s.accountUsage(BOB, T)).storedBytes).toBe(100);
    });

    it('refuses an allocation over quota with a message naming quota, usage and request', async () => {
      const s = await open();
      await allocate(s, SI, [0], 300, ALICE, 1000);
      await commit(s, SI, 0, 300);
      await allocate(s, SI2, [0], 300, ALICE, 1000);
      await expect(allocate(s, SI2, [1, 2], 300, ALICE, 1000)).rejects.toThrow(/quota 1000 bytes, uses 600 bytes .*requested 600 more bytes/);
    });

    it('refuses to record a new share whose allocation is gone', async () => {
      const s = await open();
      await allocate(s, SI, [0], 100);
      await s.abort(SI, [0], ALICE);
      await expect(commit(s, SI, 0, 100)).rejects.toMatchObject({ code: 'PRECONDITION' });
      expect(await s.listShares(SI)).toEqual([]);
    });

    it('keeps the first upload of a share and leases it to a later uploader', async () => {
      const s = await open();
      await allocate(s, SI, [0], 100);
      await allocate(s, SI, [0], 100, BOB);
      await commit(s, SI, 0, 100);
      await commit(s, SI, 0, 100, BOB, T + 10);
      expect(await s.listShares(SI)).toHaveLength(1);
      expect((await s.accountUsage(BOB, T)).storedBytes).toBe(100);
    });

    it('renews a lease to now + duration and refuses an unknown storage index', async () => {
      const s = await open();
      await allocate(s, SI, [0], 100);
      await commit(s, SI, 0, 100);
      expect(await s.renewLease(SI, ALICE, 0, T + 700, LEASE)).toBe(T + 700 + LEASE);
      await expect(s.renewLease(SI2, ALICE, 0, T, LEASE)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('finds and deletes only shares without an unexpired lease', async () => {
      const s = await open();
      for (const si of [SI, SI2]) {
        await allocate(s, si, [0], 100);
        await commit(s, si, 0, 100);
      }
      await s.renewLease(SI2, ALICE, 0, T + 500, LEASE);
      const later = T + LEASE + 1;
      expect((await s.unleasedShares(later)).map((r) => r.storageIndex)).toEqual([SI]);
      expect(await s.deleteShareIfUnleased(SI2, 0, later)).toBe(false);
      expect(await s.deleteShareIfUnleased(SI, 0, later)).toBe(true);
      expect(await s.deleteExpiredLeases(later)).toBe(1);
      expect(await s.listShares(SI)).toEqual([]);
    });

    it('sums usage per account and lists expired reservations', async () => {
      const s = await open();
      await allocate(s, SI, [0, 1], 100);
      await commit(s, SI, 0, 100);
      await allocate(s, SI, [0], 100, BOB);
      const usage = await s.usageByAccount(T);
      expect(usage.sort((a, b) => a.account.localeCompare(b.account))).toEqual([
        { account: ALICE, storedBytes: 100, shares: 1, reservedBytes: 0 },
        { account: BOB, storedBytes: 100, shares: 1, reservedBytes: 0 },
      ]);
      expect(await s.expiredAllocations(T + TTL)).toEqual([{ storageIndex: SI, shareNumber: 1, account: ALICE }]);
    });

    it('counts shares, bytes and corruption reports', async () => {
      const s = await open();
      await allocate(s, SI, [0], 100);
      await commit(s, SI, 0, 100);
      await s.recordCorrupt(SI, 0, BOB, 'bad block', T);
      expect(await s.totals()).toEqual({ shares: 1, bytes: 100, corruptReports: 1 });
    });
  });
}
