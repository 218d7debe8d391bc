/**
 * The gateway's store on SQLite and a throwaway PostgreSQL
 * (test/fixtures/database-backends.ts): transfer rows with their outbox
 * rows in one transaction, and the usage lines GetUsage returns.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { openDatabase } from '../../../libs/db/index.js';
import { GATEWAY_MIGRATIONS_TABLE, gatewayMigrations, GatewayStore, type GatewayTransfer } from '../../../services/gateway/index.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const alice = toHex(generateKeyPair().publicKey);
const bob = toHex(generateKeyPair().publicKey);
let n = 0;

function t(client: string, area: string, fetchId: string, bytes: number, price: number): GatewayTransfer {
  n += 1;
  return {
    transferId: `t${n}`,
    fetchId,
    client,
    remoteAreaCode: area,
    contactPoint: 'cd'.repeat(32),
    contactPointAddress: '127.0.0.1:9',
    storageIndex: 'ab'.repeat(16),
    bytes,
    segments: 1,
    priceUnitsPerGib: price,
    priceAsOfMs: 1000 + n,
    atMs: 2000 + n,
    receipt: { body: new Uint8Array([n]), signature: new Uint8Array(64) },
  };
}

for (const backend of databaseBackends('gw-store')) {
  describe(`GatewayStore on ${backend.name}`, () => {
    let knex: Knex;
    let store: GatewayStore;
    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), gatewayMigrations, GATEWAY_MIGRATIONS_TABLE);
      store = new GatewayStore(knex);
    });
    afterEach(async () => {
      await knex.destroy();
    });

    it('sums bytes per (client, area), counts fetches not attempts, and keeps the latest price', async () => {
      // One fetch with a failover (two attempts), then a second fetch at a new price.
      await store.recordTransfers([t(alice, '102', 'f1', 3000, 5), t(alice, '102', 'f1', 2000, 5)], []);
      await store.recordTransfers([t(alice, '102', 'f2', 10, 9)], []);
      await store.recordTransfers([t(bob, '102', 'f3', 7, 5), t(alice, '103', 'f4', 1, 1)], []);
      const lines = (await store.usage()).map((l) => ({ ...l, client: toHex(l.client) }));
      const expected = [
        { client: alice, remoteAreaCode: '102', verifiedBytes: 5010, transfers: 2, priceUnitsPerGib: 9 },
        { client: alice, remoteAreaCode: '103', verifiedBytes: 1, transfers: 1, priceUnitsPerGib: 1 },
        { client: bob, remoteAreaCode: '102', verifiedBytes: 7, transfers: 1, priceUnitsPerGib: 5 },
      ].sort((a, b) => (a.client + a.remoteAreaCode < b.client + b.remoteAreaCode ? -1 : 1));
      expect(lines).toEqual(expected);
      const f1 = await store.transfers({ fetchId: 'f1' });
      expect(f1.map((x) => x.bytes)).toEqual([3000, 2000]);
      expect(await store.transfer(f1[0]!.transferId)).toEqual(f1[0]);
    });

    it('stores transfer and outbox rows together, or neither', async () => {
      const ok = t(alice, '102', 'g1', 5, 1);
      await store.recordTransfers([ok], [{ id: `rcpt-${ok.transferId}`, channel: 'clearinghouse', payload: '{}' }]);
      expect((await store.outbox.stateOf(`rcpt-${ok.transferId}`))?.state).toBe('pending');
      const bad = t(alice, '102', 'g2', 5, 1);
      await expect(store.recordTransfers([bad], [{ id: 'x'.repeat(221), channel: 'clearinghouse', payload: '{}' }])).rejects.toThrow(/longer than/);
      expect(await store.transfer(bad.transferId)).toBeUndefined();
      // A transfer id stored twice is an error, and its outbox rows are not added either.
      await expect(store.recordTransfers([ok], [{ id: 'other', channel: 'clearinghouse', payload: '{}' }])).rejects.toThrow();
      expect(await store.outbox.stateOf('other')).toBeUndefined();
    });
  });
}
