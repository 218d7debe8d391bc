/**
 * The sanctions log on SQLite and PostgreSQL: suspensions and reinstatements
 * are entered with the grid row's change (a repeat adds nothing), revoking a
 * gateway key is idempotent and survives a reopen, paging by seq returns
 * every entry once, in order, concurrent appends (PostgreSQL) leave no
 * gap a reader paging by seq could skip, and a reader polling while
 * sanctions are appended misses none.
 */
import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { bytesEqual, generateKeyPair } from '../../../libs/crypto/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { GridStore } from '../../../services/clearinghouse/grid-store.js';
import { SanctionStore, SANCTIONS_PAGE } from '../../../services/clearinghouse/sanction-store.js';
import { LEDGER_TABLES } from '../../../services/clearinghouse/ledger-schema.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const T0 = 1_764_000_000_000;

for (const backend of databaseBackends('ch-sanctions')) {
  describe(`clearinghouse sanctions on ${backend.name}`, () => {
    let knex: Knex;
    let grids: GridStore;
    let sanctions: SanctionStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());

    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
      grids = await GridStore.open(knex);
      sanctions = await SanctionStore.open(knex);
      await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'a', areaCode: '101', priceUnitsPerGib: 1 }, 101, T0);
      await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'b', areaCode: '102', priceUnitsPerGib: 1 }, 101, T0);
    });

    afterEach(async () => {
      await knex.destroy();
    });

    it('enters a suspension and a reinstatement once each, in order, with the grid row', async () => {
      await grids.setSuspended('102', true, T0 + 1);
      await grids.setSuspended('102', true, T0 + 2); // a repeat: no entry
      await grids.setSuspended('102', false, T0 + 3);
      await grids.setSuspended('101', false, T0 + 4); // not suspended: no entry
      const r = await sanctions.since(0);
      expect(r.sanctions.map((s) => [s.kind, s.areaCode, s.atMs])).toEqual([
        ['suspend', '102', T0 + 1],
        ['reinstate', '102', T0 + 3],
      ]);
      expect(r.latestSeq).toBe(r.sanctions[1]!.seq);
      expect(r.more).toBe(false);
      expect((await sanctions.since(r.latestSeq)).sanctions).toEqual([]);
    });

    it('revokes a gateway key once, naming its grid from the approvals, and keeps it across a reopen', async () => {
      const gw = generateKeyPair().publicKey;
      await knex(LEDGER_TABLES.approvals).insert({ gateway_key: Buffer.from(gw).toString('hex'), area_code: '102', not_before_ms: T0, not_after_ms: T0 + 1000, recorded_at_ms: T0 });
      expect(sanctions.isGatewayRevoked(gw)).toBe(false);
      await sanctions.revokeGateway(gw, T0 + 5);
      await sanctions.revokeGateway(gw, T0 + 6);
      const r = await sanctions.since(0);
      expect(r.sanctions).toHaveLength(1);
      expect(r.sanctions[0]).toMatchObject({ kind: 'revoke-gateway', areaCode: '102', atMs: T0 + 5 });
      expect(bytesEqual(r.sanctions[0]!.gatewayPublicKey!, gw)).toBe(true);
      expect(sanctions.isGatewayRevoked(gw)).toBe(true);
      expect((await SanctionStore.open(knex)).isGatewayRevoked(gw)).toBe(true);
      expect(sanctions.isGatewayRevoked(generateKeyPair().publicKey)).toBe(false);
    });

    it('pages by seq: every entry once, in order, `more` while a page is full', async () => {
      const keys = Array.from({ length: SANCTIONS_PAGE + 5 }, () => generateKeyPair().publicKey);
      // Concurrent appends (on PostgreSQL they take turns on the table lock).
      await Promise.all(keys.map((k, i) => sanctions.revokeGateway(k, T0 + i)));
      const first = await sanctions.since(0);
      expect(first.sanctions).toHaveLength(SANCTIONS_PAGE);
      expect(first.more).toBe(true);
      const second = await sanctions.since(first.sanctions.at(-1)!.seq);
      expect(second.more).toBe(false);
      const all = [...first.sanctions, ...second.sanctions];
      expect(all).toHaveLength(keys.length);
      const seqs = all.map((s) => s.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(all.map((s) => Buffer.from(s.gatewayPublicKey!).toString('hex'))).size).toBe(keys.length);
    }, 60_000);

    it('a reader that moves its cursor to latestSeq (as contact points do) misses no sanction appended while it polls', async () => {
      const keys = Array.from({ length: 60 }, () => generateKeyPair().publicKey);
      const seen = new Set<string>();
      let cursor = 0;
      let appending = true;
      const poll = async (): Promise<void> => {
        const r = await sanctions.since(cursor);
        for (const s of r.sanctions) seen.add(Buffer.from(s.gatewayPublicKey!).toString('hex'));
        const last = r.sanctions.at(-1)?.seq ?? cursor;
        cursor = r.more ? last : Math.max(last, r.latestSeq);
      };
      const reader = (async () => {
        while (appending) await poll();
        await poll();
      })();
      for (const [i, k] of keys.entries()) await sanctions.revokeGateway(k, T0 + i);
      appending = false;
      await reader;
      expect(seen.size).toBe(keys.length);
    }, 60_000);
  });
}
