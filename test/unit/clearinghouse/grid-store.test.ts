import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase, type DatabaseConfig } from '../../../libs/db/index.js';
import { bytesEqual, generateKeyPair } from '../../../libs/crypto/index.js';
import { AlreadyExistsError, NotFoundError, PreconditionError } from '../../../libs/errors/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { GridStore } from '../../../services/clearinghouse/grid-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const T0 = 1_764_000_000_000;

for (const backend of databaseBackends('ch-store')) {
  describe(`clearinghouse GridStore on ${backend.name}`, () => {
    let config: DatabaseConfig;
    let knex: Knex;
    let store: GridStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());

    beforeEach(async () => {
      config = await backend.fresh();
      knex = await openDatabase(config, clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
      store = await GridStore.open(knex);
    });

    afterEach(async () => {
      await knex.destroy();
    });

    const admit = (areaCode?: string, price = 0) =>
      store.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: `g${areaCode ?? ''}`, priceUnitsPerGib: price, ...(areaCode ? { areaCode } : {}) }, 101, T0);

    it('assigns the smallest free area code at or above the first, skipping requested ones', async () => {
      await admit('102');
      expect((await admit()).areaCode).toBe('101');
      expect((await admit()).areaCode).toBe('103');
    });

    it('refuses a taken area code with AlreadyExistsError', async () => {
      await admit('500');
      await expect(admit('500')).rejects.toThrow(AlreadyExistsError);
    });

    it('assigns distinct area codes to concurrent admissions', async () => {
      const codes = (await Promise.all(Array.from({ length: 8 }, () => admit()))).map((g) => g.areaCode);
      expect(new Set(codes).size).toBe(8);
    });

    it('trusts a grid manager key for contact points only while its grid is admitted and unsuspended', async () => {
      const g = await admit('600');
      const has = () => store.activeGridManagerKeys().some((k) => bytesEqual(k, g.gridManagerPublicKey));
      expect(has()).toBe(true);
      await store.setSuspended('600', true, T0 + 1);
      expect(has()).toBe(false);
      await store.setSuspended('600', false, T0 + 2);
      expect(has()).toBe(true);
    });

    it('reloads the trusted keys without suspended grids when reopened', async () => {
      const a = await admit('601');
      const b = await admit('602');
      await store.setSuspended('602', true, T0 + 1);
      const reopened = await GridStore.open(knex);
      const keys = reopened.activeGridManagerKeys();
      expect(keys.some((k) => bytesEqual(k, a.gridManagerPublicKey))).toBe(true);
      expect(keys.some((k) => bytesEqual(k, b.gridManagerPublicKey))).toBe(false);
    });

    it('answers membership (manager key, suspension) synchronously for the auth policy, across suspension and reopening', async () => {
      const g = await admit('603');
      expect(store.membership('603')).toEqual({ areaCode: '603', gridManagerPublicKey: g.gridManagerPublicKey, suspended: false });
      await store.setSuspended('603', true, T0 + 1);
      expect(store.membership('603')?.suspended).toBe(true);
      expect((await GridStore.open(knex)).membership('603')?.suspended).toBe(true);
      await store.setSuspended('603', false, T0 + 2);
      expect(store.membership('603')?.suspended).toBe(false);
      expect(store.membership('604')).toBeUndefined();
    });

    it('answers the price in effect at any time from the history', async () => {
      await admit('700', 3);
      await store.setPrice('700', 5, T0 + 1000);
      await store.setPrice('700', 8, T0 + 2000);
      expect((await store.priceHistory('700')).map((p) => [p.priceUnitsPerGib, p.effectiveFromMs])).toEqual([
        [3, T0],
        [5, T0 + 1000],
        [8, T0 + 2000],
      ]);
      expect(await store.priceAt('700', T0 + 999)).toBe(3);
      expect(await store.priceAt('700', T0 + 1000)).toBe(5);
      expect(await store.priceAt('700', T0 + 5000)).toBe(8);
      await expect(store.priceAt('700', T0 - 1)).rejects.toThrow(NotFoundError);
    });

    it('refreshes a re-registered contact point and lists only fresh ones, newest first', async () => {
      await admit('800');
      const a = generateKeyPair().publicKey;
      const b = generateKeyPair().publicKey;
      await store.registerContactPoint('800', a, 'h:1', T0);
      await store.registerContactPoint('800', b, 'h:2', T0 + 10);
      await store.registerContactPoint('800', a, 'h:3', T0 + 20);
      expect((await store.freshContactPoints('800', T0)).map((c) => c.address)).toEqual(['h:3', 'h:2']);
      expect((await store.freshContactPoints('800', T0 + 15)).map((c) => c.address)).toEqual(['h:3']);
      expect((await store.freshContactPointCounts(T0)).get('800')).toBe(2);
    });

    it('refuses to register a contact point for a suspended grid', async () => {
      await admit('801');
      await store.setSuspended('801', true, T0);
      await expect(store.registerContactPoint('801', generateKeyPair().publicKey, 'h:1', T0)).rejects.toThrow(PreconditionError);
    });
  });
}
