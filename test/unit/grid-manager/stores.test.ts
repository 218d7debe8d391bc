import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase, type DatabaseConfig } from '../../../libs/db/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { NotFoundError, PermissionError, PreconditionError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from '../../../services/grid-manager/migrations.js';
import { PrincipalStore } from '../../../services/grid-manager/principal-store.js';
import { RevocationLog } from '../../../services/grid-manager/revocation-log.js';
import { ServerAnnouncements } from '../../../services/grid-manager/server-announcements.js';
import { UsageStore } from '../../../services/grid-manager/usage-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';


for (const backend of databaseBackends('gm-stores')) {
  describe(`grid manager stores on ${backend.name}`, () => {
    let config: DatabaseConfig;
    let knex: Knex;

    async function open(): Promise<Knex> {
      return openDatabase(config, gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
    }

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());

    beforeEach(async () => {
      config = await backend.fresh();
      knex = await open();
    });

    afterEach(async () => {
      await knex.destroy();
    });

    const key = () => generateKeyPair().publicKey;
    const approval = (subject: Uint8Array, role: 'client' | 'storage-server' = 'client', quotaBytes = 0) => ({
      subject,
      role,
      name: `n-${toHex(subject).slice(0, 4)}`,
      quotaBytes,
      validityMs: 0,
    });

    /** The membership stores over one database, as server.ts builds them. */
    async function membership(db: Knex = knex): Promise<{ principals: PrincipalStore; revocations: RevocationLog; servers: ServerAnnouncements }> {
      return { principals: new PrincipalStore(db), revocations: await RevocationLog.open(db), servers: new ServerAnnouncements(db) };
    }

    describe('membership stores', () => {
      it('records an approval with the issued certificate expiry', async () => {
        const { principals: store } = await membership();
        const s = key();
        const cert = await store.approve(approval(s, 'client', 500), 1000, () => ({ notAfter: 5000 }));
        expect(cert.notAfter).toBe(5000);
        const rec = await store.get(s, 'client');
        expect(rec).toMatchObject({ role: 'client', quotaBytes: 500, certNotAfterMs: 5000, revoked: false });
      });

      it('re-approving a key updates its name and quota in place', async () => {
        const { principals: store } = await membership();
        const s = key();
        await store.approve(approval(s, 'client', 500), 1000, () => ({ notAfter: 5000 }));
        await store.approve({ ...approval(s, 'client', 900), name: 'renamed' }, 2000, () => ({ notAfter: 6000 }));
        const list = await store.list();
        expect(list).toHaveLength(1);
        expect(list[0]).toMatchObject({ name: 'renamed', quotaBytes: 900, certNotAfterMs: 6000, createdAtMs: 1000 });
      });

      it('does not record an approval whose certificate could not be issued', async () => {
        const { principals: store } = await membership();
        const s = key();
        await expect(
          store.approve(approval(s), 1000, () => {
            throw new InvalidArgumentError('boom');
          }),
        ).rejects.toThrow(InvalidArgumentError);
        expect(await store.get(s, 'client')).toBeUndefined();
      });

      it('gives revocations increasing sequence numbers and lists them since a seq', async () => {
        const { principals: store, revocations } = await membership();
        const a = key();
        const b = key();
        for (const s of [a, b]) await store.approve(approval(s), 1, () => ({ notAfter: 10 }));
        const ra = await revocations.revoke(a, 100);
        const rb = await revocations.revoke(b, 200);
        expect(rb.seq).toBeGreaterThan(ra.seq);
        const all = await revocations.since(0);
        expect(all.revocations.map((r) => toHex(r.subject))).toEqual([toHex(a), toHex(b)]);
        expect(all.latestSeq).toBe(rb.seq);
        const later = await revocations.since(ra.seq);
        expect(later.revocations.map((r) => r.seq)).toEqual([rb.seq]);
      });

      it('a poller following latestSeq sees every revocation made concurrently with its polls', async () => {
        const { principals: store, revocations } = await membership();
        const keys = Array.from({ length: 24 }, key);
        for (const s of keys) await store.approve(approval(s), 1, () => ({ notAfter: 10 }));
        const seen = new Set<string>();
        let since = 0;
        let done = false;
        const poll = async (): Promise<void> => {
          const page = await revocations.since(since);
          for (const r of page.revocations) seen.add(toHex(r.subject));
          since = page.latestSeq;
        };
        const poller = (async () => {
          while (!done) await poll();
        })();
        await Promise.all(keys.map((s, i) => revocations.revoke(s, i)));
        done = true;
        await poller;
        await poll();
        expect(seen.size).toBe(keys.length);
      });

      it('revoking a key twice keeps one log entry', async () => {
        const { principals: store, revocations } = await membership();
        const a = key();
        await store.approve(approval(a), 1, () => ({ notAfter: 10 }));
        const first = await revocations.revoke(a, 100);
        const again = await revocations.revoke(a, 200);
        expect(again.seq).toBe(first.seq);
        expect((await revocations.since(0)).revocations).toHaveLength(1);
      });

      it('pages revocations and reports where the page ended', async () => {
        const { principals: store, revocations } = await membership();
        const keys = [key(), key(), key()];
        for (const s of keys) await store.approve(approval(s), 1, () => ({ notAfter: 10 }));
        for (const s of keys) await revocations.revoke(s, 5);
        const page = await revocations.since(0, 2);
        expect(page.revocations).toHaveLength(2);
        expect(page.more).toBe(true);
        const rest = await revocations.since(page.latestSeq, 2);
        expect(rest.revocations).toHaveLength(1);
        expect(rest.more).toBe(false);
      });

      it('refuses to revoke a key it never approved', async () => {
        const { revocations } = await membership();
        await expect(revocations.revoke(key(), 1)).rejects.toThrow(NotFoundError);
      });

      it('refuses to re-approve or renew a revoked key', async () => {
        const { principals: store, revocations } = await membership();
        const a = key();
        await store.approve(approval(a), 1, () => ({ notAfter: 10 }));
        await revocations.revoke(a, 2);
        await expect(store.approve(approval(a), 3, () => ({ notAfter: 10 }))).rejects.toThrow(PreconditionError);
        await expect(store.renew(a, 'client', 3, () => ({ notAfter: 10 }))).rejects.toThrow(PermissionError);
      });

      it('remembers revoked keys across a reopen', async () => {
        const { principals: store, revocations } = await membership();
        const a = key();
        await store.approve(approval(a), 1, () => ({ notAfter: 10 }));
        await revocations.revoke(a, 2);
        expect(revocations.isRevoked(a)).toBe(true);
        await knex.destroy();
        knex = await open();
        const reopened = await RevocationLog.open(knex);
        expect(reopened.isRevoked(a)).toBe(true);
        expect(reopened.isRevoked(key())).toBe(false);
      });

      it('lists in the directory only announced, fresh, unexpired, unrevoked storage servers', async () => {
        const { principals: store, revocations, servers } = await membership();
        const [fresh, stale, expired, revoked, silent] = [key(), key(), key(), key(), key()];
        for (const s of [fresh, stale, revoked, silent]) await store.approve(approval(s, 'storage-server'), 0, () => ({ notAfter: 10_000 }));
        await store.approve(approval(expired, 'storage-server'), 0, () => ({ notAfter: 500 }));
        await servers.announce(fresh, 'h:1', 900);
        await servers.announce(stale, 'h:2', 100);
        await servers.announce(expired, 'h:3', 900);
        await servers.announce(revoked, 'h:4', 900);
        await revocations.revoke(revoked, 950);
        const listed = await servers.directoryServers(1000, 800);
        expect(listed.map((r) => toHex(r.subject))).toEqual([toHex(fresh)]);
      });

      it('refuses an announcement from a key that is not an approved storage server', async () => {
        const { principals: store, servers } = await membership();
        const c = key();
        await store.approve(approval(c, 'client'), 0, () => ({ notAfter: 10 }));
        await expect(servers.announce(c, 'h:1', 1)).rejects.toThrow(PermissionError);
      });

      it('registers config admins once and never un-revokes them', async () => {
        const { principals: store, revocations } = await membership();
        const a = key();
        await store.ensureAdmins([a], 1);
        await revocations.revoke(a, 2);
        await store.ensureAdmins([a], 3);
        expect(await store.get(a, 'admin')).toMatchObject({ revoked: true });
      });
    });

    describe('UsageStore', () => {
      const s1 = key();
      const s2 = key();
      const alice = key();
      const bob = key();

      it('sums each account over the servers latest reports', async () => {
        const usage = new UsageStore(knex);
        await usage.report(s1, { reportId: 'a1', atMs: 1, accounts: [{ account: alice, bytesStored: 100, shares: 1 }] }, 1);
        await usage.report(s2, { reportId: 'b1', atMs: 1, accounts: [{ account: alice, bytesStored: 50, shares: 2 }, { account: bob, bytesStored: 7, shares: 1 }] }, 1);
        const tally = await usage.tally();
        const byHex = Object.fromEntries(tally.map((t) => [toHex(t.account), t]));
        expect(byHex[toHex(alice)]).toMatchObject({ bytesStored: 150, shares: 3 });
        expect(byHex[toHex(bob)]).toMatchObject({ bytesStored: 7, shares: 1 });
      });

      it('counts a report sent twice with the same id once', async () => {
        const usage = new UsageStore(knex);
        const r = { reportId: 'same', atMs: 5, accounts: [{ account: alice, bytesStored: 100, shares: 1 }] };
        expect(await usage.report(s1, r, 1)).toBe('applied');
        expect(await usage.report(s1, r, 2)).toBe('replaced-same-id');
        expect((await usage.tally())[0]).toMatchObject({ bytesStored: 100, shares: 1 });
      });

      it('replaces a server earlier report with its newer one', async () => {
        const usage = new UsageStore(knex);
        await usage.report(s1, { reportId: 'r1', atMs: 1, accounts: [{ account: alice, bytesStored: 100, shares: 1 }] }, 1);
        await usage.report(s1, { reportId: 'r2', atMs: 2, accounts: [{ account: bob, bytesStored: 30, shares: 1 }] }, 2);
        const tally = await usage.tally();
        expect(tally.map((t) => [toHex(t.account), t.bytesStored])).toEqual([[toHex(bob), 30]]);
      });

      it('ignores a late report older than the stored one', async () => {
        const usage = new UsageStore(knex);
        await usage.report(s1, { reportId: 'new', atMs: 10, accounts: [{ account: alice, bytesStored: 100, shares: 1 }] }, 1);
        expect(await usage.report(s1, { reportId: 'old', atMs: 5, accounts: [] }, 2)).toBe('stale');
        expect((await usage.tally())[0]?.bytesStored).toBe(100);
      });

      it('rejects a report that lists an account twice', async () => {
        const usage = new UsageStore(knex);
        const line = { account: alice, bytesStored: 1, shares: 1 };
        await expect(usage.report(s1, { reportId: 'x', atMs: 1, accounts: [line, line] }, 1)).rejects.toThrow(InvalidArgumentError);
      });

      it('rejects an empty report id', async () => {
        const usage = new UsageStore(knex);
        await expect(usage.report(s1, { reportId: '', atMs: 1, accounts: [] }, 1)).rejects.toThrow(InvalidArgumentError);
      });
    });
  });
}
