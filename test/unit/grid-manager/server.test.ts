/**
 * The grid manager's RPCs on a real server (config written by init, restart on
 * the same database), on SQLite and PostgreSQL (test/fixtures/database-backends.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initGridManager,
  loadGridManagerConfig,
  loadAdminIdentity,
  startGridManager,
  type RunningGridManager,
  type AdminIdentity,
} from '../../../services/grid-manager/index.js';
import { connectGridManager, openDirectory, type GridManagerConnection } from '../../../libs/grid/index.js';
import { verifyCertificate, type Identity, type Certificate } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex, bytesEqual, type KeyPair } from '../../../libs/crypto/index.js';
import { IntegrityError, InvalidArgumentError, NotFoundError, PermissionError, PreconditionError } from '../../../libs/errors/index.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from '../../../services/grid-manager/migrations.js';
import { databaseBackends, setConfigDatabase, appliedMigrations, BACKEND_SETUP_MS, type TestDatabase } from '../../fixtures/database-backends.js';

let dir: string;
let configPath: string;
let gm: RunningGridManager;
let admin: AdminIdentity;
let adminConn: GridManagerConnection;
const open: GridManagerConnection[] = [];

function connect(identity: Identity): GridManagerConnection {
  const c = connectGridManager(gm.address, identity, { gridManagerPublicKey: admin.gridManager.publicKey });
  open.push(c);
  return c;
}

/** Approves a fresh key in `role` and returns its identity. */
async function member(role: 'client' | 'storage-server' | 'gateway', name: string, quotaBytes?: number): Promise<{ key: KeyPair; cert: Certificate; conn: GridManagerConnection }> {
  const key = generateKeyPair();
  const cert = await adminConn.approve({ role, subject: key.publicKey, name, ...(quotaBytes !== undefined ? { quotaBytes } : {}) });
  return { key, cert, conn: connect({ keyPair: key, certificates: [cert] }) };
}

for (const backend of databaseBackends('gm-server')) describe(`grid manager server on ${backend.name}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    await backend.setup();
    dir = mkdtempSync(join(tmpdir(), 'gm-server-'));
    ({ configPath } = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' }));
    database = await backend.fresh();
    setConfigDatabase(configPath, database);
    gm = await startGridManager(loadGridManagerConfig(configPath));
    admin = loadAdminIdentity(join(dir, 'admin.json'));
    adminConn = connect(admin.identity);
  }, BACKEND_SETUP_MS);

  afterAll(async () => {
    for (const c of open.splice(0)) c.close();
    await gm?.stop();
    rmSync(dir, { recursive: true, force: true });
    await backend.teardown();
  });

  it('issues a client certificate that verifies under the grid key and carries role and quota', async () => {
    const key = generateKeyPair();
    const cert = await adminConn.approve({ role: 'client', subject: key.publicKey, name: 'alice', quotaBytes: 1_000_000 });
    const v = verifyCertificate(cert.encoded, { trustedIssuers: [gm.publicKey], now: Date.now(), expectedRole: 'client', expectedSubject: key.publicKey });
    expect(v.grid).toBe('101');
    expect(v.limits).toEqual({ quota_bytes: 1_000_000 });
  });

  it('lists an announced storage server in a directory that openDirectory verifies', async () => {
    const s = await member('storage-server', 'storage-01');
    await s.conn.announceServer('127.0.0.1:4101');
    const client = await member('client', 'dir-reader');
    const signed = await client.conn.getSignedDirectory();
    const dir = openDirectory(signed, gm.publicKey);
    const entry = dir.servers.find((x) => bytesEqual(x.publicKey, s.key.publicKey));
    expect(entry).toMatchObject({ name: 'storage-01', address: '127.0.0.1:4101', certificateNotAfterMs: s.cert.notAfter });
    expect(dir.areaCode).toBe('101');
  });

  it('leaves approved servers that never announced out of the directory', async () => {
    const s = await member('storage-server', 'silent');
    const d = await adminConn.getDirectory();
    expect(d.servers.some((x) => bytesEqual(x.publicKey, s.key.publicKey))).toBe(false);
  });

  it('rejects a directory whose body was altered in transit', async () => {
    const signed = await adminConn.getSignedDirectory();
    const body = Uint8Array.from(signed.body);
    body[body.length - 2] = body[body.length - 2]! ^ 0x01;
    expect(() => openDirectory({ body, signature: signed.signature }, gm.publicKey)).toThrow(IntegrityError);
  });

  it('refuses Approve from a caller without the admin role (PERMISSION_DENIED)', async () => {
    const c = await member('client', 'mallory');
    await expect(c.conn.approve({ role: 'admin', subject: c.key.publicKey, name: 'me' })).rejects.toThrow(PermissionError);
  });

  it('refuses AnnounceServer from a client (PERMISSION_DENIED)', async () => {
    const c = await member('client', 'not-a-server');
    await expect(c.conn.announceServer('127.0.0.1:1')).rejects.toThrow(PermissionError);
  });

  it('renews a certificate with the same role and limits and no earlier expiry', async () => {
    const c = await member('client', 'renewer', 4096);
    const fresh = await c.conn.renewCertificate();
    expect(fresh.role).toBe('client');
    expect(fresh.limits).toEqual({ quota_bytes: 4096 });
    expect(bytesEqual(fresh.subject, c.key.publicKey)).toBe(true);
    expect(fresh.notAfter).toBeGreaterThanOrEqual(c.cert.notAfter);
  });

  it('publishes a revocation and then refuses every call by the revoked key', async () => {
    const victim = await member('client', 'victim');
    const server = await member('storage-server', 'watcher');
    const before = await server.conn.listRevocations(0);
    await adminConn.revoke(victim.key.publicKey);
    const after = await server.conn.listRevocations(before.latestSeq);
    expect(after.revocations.map((r) => toHex(r.subject))).toEqual([toHex(victim.key.publicKey)]);
    expect(after.latestSeq).toBeGreaterThan(before.latestSeq);
    await expect(victim.conn.getDirectory()).rejects.toThrow(PermissionError);
    await expect(victim.conn.renewCertificate()).rejects.toThrow(PermissionError);
  });

  it('refuses to re-approve a revoked key', async () => {
    const c = await member('client', 'gone');
    await adminConn.revoke(c.key.publicKey);
    await expect(adminConn.approve({ role: 'client', subject: c.key.publicKey, name: 'back' })).rejects.toThrow(PreconditionError);
  });

  it('tallies usage per account, counting a repeated report id once', async () => {
    const acct = await member('client', 'usage-acct', 10_000);
    const s1 = await member('storage-server', 'u1');
    const s2 = await member('storage-server', 'u2');
    const line = (bytesStored: number) => [{ account: acct.key.publicKey, bytesStored, shares: 1 }];
    await s1.conn.reportUsage({ reportId: 's1-1', atMs: Date.now(), accounts: line(100) });
    await s1.conn.reportUsage({ reportId: 's1-1', atMs: Date.now(), accounts: line(100) });
    await s2.conn.reportUsage({ reportId: 's2-1', atMs: Date.now(), accounts: line(40) });
    const usage = await adminConn.getUsage();
    const mine = usage.find((u) => bytesEqual(u.account, acct.key.publicKey));
    expect(mine).toMatchObject({ name: 'usage-acct', bytesStored: 140, shares: 2, quotaBytes: 10_000 });
  });

  it('refuses GetUsage from a storage server (PERMISSION_DENIED)', async () => {
    const s = await member('storage-server', 'nosy');
    await expect(s.conn.getUsage()).rejects.toThrow(PermissionError);
  });

  it('keeps principals, revocations and usage across a restart', async () => {
    const acct = await member('client', 'durable', 777);
    const s = await member('storage-server', 'durable-server');
    await s.conn.reportUsage({ reportId: 'd-1', atMs: Date.now(), accounts: [{ account: acct.key.publicKey, bytesStored: 55, shares: 3 }] });
    const revoked = await member('client', 'durable-revoked');
    await adminConn.revoke(revoked.key.publicKey);

    await gm.stop();
    for (const c of open.splice(0)) c.close();
    gm = await startGridManager(loadGridManagerConfig(configPath));
    adminConn = connect(admin.identity);

    const principals = await adminConn.listPrincipals();
    expect(principals.find((p) => bytesEqual(p.subject, acct.key.publicKey))).toMatchObject({ name: 'durable', quotaBytes: 777, revoked: false });
    expect(principals.find((p) => bytesEqual(p.subject, revoked.key.publicKey))?.revoked).toBe(true);
    const usage = await adminConn.getUsage();
    expect(usage.find((u) => bytesEqual(u.account, acct.key.publicKey))).toMatchObject({ bytesStored: 55, shares: 3 });
    const again = connect({ keyPair: revoked.key, certificates: [revoked.cert] });
    await expect(again.getDirectory()).rejects.toThrow(PermissionError);
  });

  it('records its migrations once, by name, in its knex migrations table (none re-applied by the restart)', async () => {
    const applied = await appliedMigrations(database, GRID_MANAGER_MIGRATIONS_TABLE);
    expect(applied.map((m) => m.name)).toEqual(gridManagerMigrations.map((m) => m.name));
    expect(new Set(applied.map((m) => m.batch))).toEqual(new Set([1]));
  });

  it('lists the init admin as an approved principal that may renew', async () => {
    const principals = await adminConn.listPrincipals();
    expect(principals.some((p) => p.role === 'admin' && bytesEqual(p.subject, admin.identity.keyPair.publicKey))).toBe(true);
    const fresh = await adminConn.renewCertificate();
    expect(fresh.role).toBe('admin');
  });

  describe('refuses malformed admin requests with INVALID_ARGUMENT', () => {
    const subject = generateKeyPair().publicKey;
    const cases: [string, () => Promise<unknown>][] = [
      ['an unknown role', () => adminConn.approve({ role: 'grid-member' as never, subject, name: 'x' })],
      ['a 31-byte subject', () => adminConn.approve({ role: 'client', subject: subject.slice(1), name: 'x' })],
      ['a quota for a storage server', () => adminConn.approve({ role: 'storage-server', subject, name: 'x', quotaBytes: 5 })],
      ['a 200-character name', () => adminConn.approve({ role: 'client', subject, name: 'n'.repeat(200) })],
    ];
    for (const [what, run] of cases) {
      it(`approve with ${what}`, async () => {
        await expect(run()).rejects.toThrow(InvalidArgumentError);
      });
    }
  });

  it('refuses an announced address that is not host:port', async () => {
    const s = await member('storage-server', 'bad-address');
    await expect(s.conn.announceServer('no port here')).rejects.toThrow(InvalidArgumentError);
  });

  it('answers NOT_FOUND when revoking a key it never approved', async () => {
    await expect(adminConn.revoke(generateKeyPair().publicKey)).rejects.toThrow(NotFoundError);
  });
});
