/**
 * grid-status.ts on real stores (SQLite, and PostgreSQL when available): when
 * a storage server is listed, when an account is near its quota (per server,
 * not summed), which certificates are expiring, and what is counted per role.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import type { GridRole } from '../../../libs/grid/index.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from '../../../services/grid-manager/migrations.js';
import { PrincipalStore } from '../../../services/grid-manager/principal-store.js';
import { RevocationLog } from '../../../services/grid-manager/revocation-log.js';
import { ServerAnnouncements } from '../../../services/grid-manager/server-announcements.js';
import { UsageStore } from '../../../services/grid-manager/usage-store.js';
import { StatementStore } from '../../../services/grid-manager/statement-store.js';
import { cachedGridStatus, gridStatus, type GridStatusSources } from '../../../services/grid-manager/grid-status.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const DAY = 86_400_000;
const NOW = 1_000 * DAY;
const FRESH = 5 * 60_000;

for (const backend of databaseBackends('gm-status')) {
  describe(`gridStatus on ${backend.name}`, () => {
    let knex: Knex;
    let src: GridStatusSources;
    let principals: PrincipalStore;
    let revocations: RevocationLog;
    let servers: ServerAnnouncements;
    let usage: UsageStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
      principals = new PrincipalStore(knex);
      revocations = await RevocationLog.open(knex);
      servers = new ServerAnnouncements(knex);
      usage = new UsageStore(knex);
      src = { areaCode: '101', directoryFreshnessMs: FRESH, clearinghouseConfigured: false, principals, usage, statements: new StatementStore(knex) };
    });
    afterEach(async () => {
      await knex.destroy();
    });

    async function approve(role: GridRole, name: string, notAfter: number, quotaBytes = 0): Promise<Uint8Array> {
      const subject = generateKeyPair().publicKey;
      await principals.approve({ subject, role, name, quotaBytes, validityMs: 0 }, NOW - DAY, () => ({ notAfter }));
      return subject;
    }

    it('lists a server only when it announced within the freshness window with an unexpired certificate', async () => {
      const fresh = await approve('storage-server', 's-fresh', NOW + 30 * DAY);
      const stale = await approve('storage-server', 's-stale', NOW + 30 * DAY);
      const expired = await approve('storage-server', 's-expired', NOW - 1);
      await approve('storage-server', 's-never', NOW + 30 * DAY);
      await servers.announce(fresh, '127.0.0.1:1', NOW - FRESH);
      await servers.announce(stale, '127.0.0.1:2', NOW - FRESH - 1);
      await servers.announce(expired, '127.0.0.1:3', NOW);
      await usage.report(fresh, { reportId: 'r1', atMs: NOW - 10, accounts: [{ account: generateKeyPair().publicKey, bytesStored: 700, shares: 2 }, { account: generateKeyPair().publicKey, bytesStored: 300, shares: 1 }] }, NOW);
      const st = await gridStatus(src, NOW);
      expect(st.servers.map((s) => [s.name, s.listed, s.address])).toEqual([
        ['s-expired', false, '127.0.0.1:3'],
        ['s-fresh', true, '127.0.0.1:1'],
        ['s-never', false, ''],
        ['s-stale', false, '127.0.0.1:2'],
      ]);
      expect(st.servers.find((s) => s.name === 's-fresh')).toMatchObject({ bytesStored: 1000, shares: 3, reportedAtMs: NOW - 10, lastSeenMs: NOW - FRESH });
      expect(st.servers.find((s) => s.name === 's-never')).toMatchObject({ bytesStored: 0, reportedAtMs: 0, lastSeenMs: 0 });
    });

    it('an account is near quota at 90 % on one server; the sum over servers does not count', async () => {
      const [s1, s2] = [await approve('storage-server', 's1', NOW + 30 * DAY), await approve('storage-server', 's2', NOW + 30 * DAY)];
      const at90 = await approve('client', 'at-90', NOW + 30 * DAY, 1000);
      const spread = await approve('client', 'spread', NOW + 30 * DAY, 1000);
      const unlimited = await approve('client', 'unlimited', NOW + 30 * DAY, 0);
      const revoked = await approve('client', 'revoked', NOW + 30 * DAY, 1000);
      await revocations.revoke(revoked, NOW);
      await usage.report(s1, { reportId: 'a', atMs: NOW, accounts: [{ account: at90, bytesStored: 900, shares: 1 }, { account: spread, bytesStored: 899, shares: 1 }, { account: unlimited, bytesStored: 10 ** 9, shares: 1 }, { account: revoked, bytesStored: 1000, shares: 1 }] }, NOW);
      await usage.report(s2, { reportId: 'b', atMs: NOW, accounts: [{ account: spread, bytesStored: 899, shares: 1 }] }, NOW);
      const st = await gridStatus(src, NOW);
      expect(st.nearQuota).toEqual([{ account: at90, name: 'at-90', quotaBytes: 1000, maxServerBytes: 900, bytesStored: 900 }]);
    });

    it('lists unrevoked certificates expiring within the window, expired ones too, soonest first; counts roles', async () => {
      await approve('client', 'in-6d', NOW + 6 * DAY);
      await approve('client', 'in-8d', NOW + 8 * DAY);
      await approve('gateway', 'expired', NOW - DAY);
      const gone = await approve('client', 'revoked-soon', NOW + DAY);
      await revocations.revoke(gone, NOW);
      await principals.ensureAdmins([generateKeyPair().publicKey], NOW);
      const st = await gridStatus(src, NOW);
      expect(st.expiring.map((e) => e.name)).toEqual(['expired', 'in-6d']);
      expect((await gridStatus(src, NOW, 9 * DAY)).expiring.map((e) => e.name)).toEqual(['expired', 'in-6d', 'in-8d']);
      expect(st.principals).toEqual([
        { role: 'storage-server', active: 0, revoked: 0 },
        { role: 'client', active: 2, revoked: 1 },
        { role: 'gateway', active: 1, revoked: 0 },
        { role: 'contact-point', active: 0, revoked: 0 },
        { role: 'admin', active: 1, revoked: 0 },
      ]);
      expect(toHex(st.expiring[0]!.subject)).toHaveLength(64);
    });

    it('cachedGridStatus reads the stores once per ttl (on its own clock, not the status clock)', async () => {
      let t = NOW;
      const read = cachedGridStatus(src, () => NOW, 1000, () => t);
      expect((await read()).principals.find((p) => p.role === 'client')!.active).toBe(0);
      await approve('client', 'late', NOW + 30 * DAY);
      t += 999;
      expect((await read()).principals.find((p) => p.role === 'client')!.active).toBe(0);
      t += 1;
      expect((await read()).principals.find((p) => p.role === 'client')!.active).toBe(1);
    });
  });
}
