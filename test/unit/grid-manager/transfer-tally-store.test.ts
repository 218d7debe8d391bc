import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase, type DatabaseConfig } from '../../../libs/db/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { costOf } from '../../../libs/ledger/index.js';
import { clientUsageEventId, type ClientUsageEvent } from '../../../libs/events/index.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from '../../../services/grid-manager/migrations.js';
import { TransferTallyStore } from '../../../services/grid-manager/transfer-tally-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const alice = toHex(generateKeyPair().publicKey);
const bob = toHex(generateKeyPair().publicKey);
let n = 0;
function event(client: string, remoteAreaCode: string, bytes: number, price = 7): ClientUsageEvent {
  const transferId = `t-${++n}`;
  return { version: 1, eventId: clientUsageEventId(transferId), transferId, client, remoteAreaCode, bytes, priceUnitsPerGib: price, units: costOf(bytes, price), atMs: 1000 + n };
}

for (const backend of databaseBackends('gm-tallies')) {
  describe(`TransferTallyStore on ${backend.name}`, () => {
    let config: DatabaseConfig;
    let knex: Knex;
    let store: TransferTallyStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      config = await backend.fresh();
      knex = await openDatabase(config, gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
      store = new TransferTallyStore(knex, () => 5);
    });
    afterEach(async () => {
      await knex.destroy();
    });

    it('sums bytes, transfers and units per (account, remote area code)', async () => {
      const events = [event(alice, '101', 2 ** 30), event(alice, '101', 1), event(alice, '102', 500), event(bob, '101', 3 * 2 ** 30)];
      for (const e of events) expect(await store.apply(e)).toBe('applied');
      const lines = (await store.list()).map((l) => ({ ...l, account: toHex(l.account) }));
      const expected = [
        { account: alice, remoteAreaCode: '101', bytes: 2 ** 30 + 1, transfers: 2, units: 7 + 1 },
        { account: alice, remoteAreaCode: '102', bytes: 500, transfers: 1, units: 1 },
        { account: bob, remoteAreaCode: '101', bytes: 3 * 2 ** 30, transfers: 1, units: 21 },
      ].sort((a, b) => (a.account + a.remoteAreaCode).localeCompare(b.account + b.remoteAreaCode));
      expect(lines).toEqual(expected);
      expect(await store.processedCount()).toBe(4);
    });

    it('counts an event id once, however often it is applied', async () => {
      const e = event(alice, '103', 1234);
      expect(await store.apply(e)).toBe('applied');
      expect(await store.apply(e)).toBe('duplicate');
      expect(await store.apply({ ...e, bytes: 99999, units: costOf(99999, 7) })).toBe('duplicate');
      expect((await store.list()).map((l) => l.bytes)).toEqual([1234]);
      expect(await store.processedCount()).toBe(1);
    });

    it('keeps exact totals above 2^32 (bigint columns)', async () => {
      const big = 2 ** 40;
      for (let i = 0; i < 3; i++) await store.apply(event(bob, '104', big, 1000));
      const [line] = await store.list();
      expect(line).toMatchObject({ bytes: 3 * big, transfers: 3, units: 3 * costOf(big, 1000) });
    });

    it('survives reopening the database (tallies and processed ids are durable)', async () => {
      const e = event(alice, '105', 10);
      await store.apply(e);
      await knex.destroy();
      knex = await openDatabase(config, gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
      store = new TransferTallyStore(knex);
      expect(await store.apply(e)).toBe('duplicate');
      expect((await store.list())[0]).toMatchObject({ bytes: 10, transfers: 1 });
    });

    it('applies concurrent events for the same tally line exactly', async () => {
      const events = Array.from({ length: 40 }, () => event(alice, '106', 1000));
      const outcomes = await Promise.allSettled(events.map((e) => store.apply(e)));
      // A transaction that lost an insert race fails (the message is nak'ed and redelivered): retry those.
      for (const [i, o] of outcomes.entries()) if (o.status === 'rejected') await store.apply(events[i]!);
      expect((await store.list())[0]).toMatchObject({ bytes: 40_000, transfers: 40 });
    });
  });
}
