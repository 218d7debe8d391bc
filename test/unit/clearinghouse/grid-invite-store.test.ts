/**
 * GridInviteStore contract on SQLite and PostgreSQL (the same suite on both):
 * redeeming marks the invite used and admits the grid in one transaction, so
 * under real concurrency exactly one redemption of an invite wins, and an
 * admission that loses (area code taken, also concurrently) leaves its invite
 * usable.
 */
import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { bytesEqual, generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';
import { AlreadyExistsError, PermissionError, PreconditionError } from '../../../libs/errors/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { GridStore } from '../../../services/clearinghouse/grid-store.js';
import { GridInviteStore } from '../../../services/clearinghouse/grid-invite-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const T0 = 1_764_000_000_000;

for (const backend of databaseBackends('ch-invites')) {
  describe(`clearinghouse GridInviteStore on ${backend.name}`, () => {
    let knex: Knex;
    let grids: GridStore;
    let invites: GridInviteStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());

    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
      grids = await GridStore.open(knex);
      invites = new GridInviteStore(knex, grids);
    });

    afterEach(async () => {
      await knex.destroy();
    });

    async function invite(extra: { areaCode?: string; name?: string; price?: number } = {}): Promise<Uint8Array> {
      const hash = randomBytes(32);
      await invites.add({ secretHash: hash, name: extra.name ?? 'g', areaCode: extra.areaCode ?? '', priceUnitsPerGib: extra.price ?? 3, expiresAtMs: T0 + 3_600_000 }, T0);
      return hash;
    }

    const usedBy = async (hash: Uint8Array): Promise<string | null> =>
      ((await knex('ch_grid_invites').where({ secret_hash: toHex(hash) }).first()) as { used_by: string | null }).used_by;

    it('admits with the stored name and price, records who redeemed it, and trusts the key for contact points', async () => {
      const hash = await invite({ name: 'east', price: 11 });
      const gm = generateKeyPair().publicKey;
      const g = await invites.redeem(hash, gm, '301', 101, T0 + 1);
      expect(g).toMatchObject({ areaCode: '301', name: 'east', priceUnitsPerGib: 11, admittedAtMs: T0 + 1 });
      expect(await grids.priceAt('301', T0 + 1)).toBe(11);
      expect(await usedBy(hash)).toBe(toHex(gm));
      expect(grids.activeGridManagerKeys().some((k) => bytesEqual(k, gm))).toBe(true);
    });

    it('unknown, used and expired invites are refused with their own error class', async () => {
      await expect(invites.redeem(randomBytes(32), generateKeyPair().publicKey, '301', 101, T0)).rejects.toThrow(PermissionError);
      const hash = await invite();
      await invites.redeem(hash, generateKeyPair().publicKey, '301', 101, T0);
      await expect(invites.redeem(hash, generateKeyPair().publicKey, '302', 101, T0)).rejects.toThrow(PreconditionError);
      const late = await invite();
      await expect(invites.redeem(late, generateKeyPair().publicKey, '303', 101, T0 + 3_600_000)).rejects.toThrow(/invite expired/);
    });

    it('two concurrent redemptions of one invite: exactly one grid admitted', async () => {
      const hash = await invite();
      const results = await Promise.allSettled(['401', '402', '403'].map((code) => invites.redeem(hash, generateKeyPair().publicKey, code, 101, T0)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/invite already used/);
      expect(await grids.list()).toHaveLength(1);
    });

    it('two invites racing for one area code: one admitted, the loser gets ALREADY_EXISTS and keeps its invite', async () => {
      const a = await invite();
      const b = await invite();
      const results = await Promise.allSettled([a, b].map((h) => invites.redeem(h, generateKeyPair().publicKey, '501', 101, T0)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.findIndex((r) => r.status === 'rejected');
      expect((results[lost] as PromiseRejectedResult).reason).toBeInstanceOf(AlreadyExistsError);
      const loser = lost === 0 ? a : b;
      expect(await usedBy(loser)).toBeNull();
      expect((await invites.redeem(loser, generateKeyPair().publicKey, '502', 101, T0)).areaCode).toBe('502');
    });
  });
}
