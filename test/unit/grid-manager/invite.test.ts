import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initGridManager, loadGridManagerConfig, loadAdminIdentity, startGridManager, type RunningGridManager, type AdminIdentity } from '../../../services/grid-manager/index.js';
import { connectGridManager, decodeInvite, encodeInvite, redeemInvite, type GridManagerConnection, type InviteCode } from '../../../libs/grid/index.js';
import { verifyCertificate } from '../../../libs/auth/index.js';
import { bytesEqual, generateKeyPair, randomBytes } from '../../../libs/crypto/index.js';
import { InvalidArgumentError, PermissionError, PreconditionError } from '../../../libs/errors/index.js';
import { databaseBackends, setConfigDatabase, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

let dir: string;
let gm: RunningGridManager;
let admin: AdminIdentity;
let adminConn: GridManagerConnection;
let clock = Date.now();

async function invite(role: 'client' | 'storage-server' | 'gateway' | 'contact-point', extra: { name?: string; expiresInMs?: number; quotaBytes?: number } = {}): Promise<string> {
  const inv = await adminConn.createInvite({ role, ...extra });
  return encodeInvite({ secret: inv.secret, gridManagerKey: inv.gridManagerKey, role, areaCode: inv.areaCode, address: gm.address });
}

for (const backend of databaseBackends('gm-invite')) describe(`grid invites on ${backend.name}`, () => {
  beforeAll(async () => {
    await backend.setup();
    dir = mkdtempSync(join(tmpdir(), 'gm-invite-'));
    const { configPath } = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    setConfigDatabase(configPath, await backend.fresh());
    gm = await startGridManager(loadGridManagerConfig(configPath), { now: () => clock });
    admin = loadAdminIdentity(join(dir, 'admin.json'));
    adminConn = connectGridManager(gm.address, admin.identity, { gridManagerPublicKey: admin.gridManager.publicKey });
  }, BACKEND_SETUP_MS);

  afterAll(async () => {
    adminConn?.close();
    await gm?.stop();
    rmSync(dir, { recursive: true, force: true });
    await backend.teardown();
  });

  it('redeem: a client code yields a certificate for the new key, recorded (listed, quota) and revocable', async () => {
    const code = await invite('client', { name: 'carol', quotaBytes: 5_000_000 });
    expect(code).toMatch(/^IG1-[A-Z2-7]+$/);
    const inv = decodeInvite(code);
    expect(inv.address).toBe(gm.address);
    expect(inv.areaCode).toBe('101');
    expect(bytesEqual(inv.gridManagerKey, gm.publicKey)).toBe(true);
    const key = generateKeyPair();
    const cert = await redeemInvite(inv, key, { now: clock });
    const v = verifyCertificate(cert.encoded, { trustedIssuers: [gm.publicKey], now: clock, expectedRole: 'client', expectedSubject: key.publicKey });
    expect(v.limits).toEqual({ quota_bytes: 5_000_000 });
    // The new node can use it at once.
    const conn = connectGridManager(gm.address, { keyPair: key, certificates: [cert] }, { gridManagerPublicKey: gm.publicKey });
    try {
      await conn.getSignedDirectory();
      const listed = (await adminConn.listPrincipals()).find((p) => bytesEqual(p.subject, key.publicKey));
      expect(listed).toMatchObject({ role: 'client', name: 'carol', quotaBytes: 5_000_000, revoked: false });
      await adminConn.revoke(key.publicKey);
      await expect(conn.getSignedDirectory()).rejects.toThrow(PermissionError);
    } finally {
      conn.close();
    }
  });

  it('redeem: a storage-server code gives a storage-server certificate named by the key when no name was given', async () => {
    const key = generateKeyPair();
    const cert = await redeemInvite(decodeInvite(await invite('storage-server')), key, { now: clock });
    expect(cert.role).toBe('storage-server');
    const listed = (await adminConn.listPrincipals()).find((p) => bytesEqual(p.subject, key.publicKey));
    expect(listed?.role).toBe('storage-server');
  });

  it('reuse: the second redemption (even with another key) fails FAILED_PRECONDITION "invite already used"', async () => {
    const inv = decodeInvite(await invite('gateway'));
    await redeemInvite(inv, generateKeyPair(), { now: clock });
    const second = redeemInvite(inv, generateKeyPair(), { now: clock });
    await expect(second).rejects.toThrow(PreconditionError);
    await expect(redeemInvite(inv, generateKeyPair(), { now: clock })).rejects.toThrow(/invite already used/);
  });

  it('reuse: two concurrent redemptions — exactly one wins', async () => {
    const inv = decodeInvite(await invite('client'));
    const results = await Promise.allSettled([redeemInvite(inv, generateKeyPair(), { now: clock }), redeemInvite(inv, generateKeyPair(), { now: clock })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(failed.reason)).toMatch(/invite already used/);
  });

  it('expired: refused with the expiry time, and the invite is not consumed by the attempt', async () => {
    const inv = decodeInvite(await invite('client', { expiresInMs: 3_600_000 }));
    const expiresAt = new Date(clock + 3_600_000).toISOString();
    clock += 3_600_001;
    try {
      const p = redeemInvite(inv, generateKeyPair(), { now: clock });
      await expect(p).rejects.toThrow(PreconditionError);
      await expect(redeemInvite(inv, generateKeyPair(), { now: clock })).rejects.toThrow(`invite expired at ${expiresAt}`);
    } finally {
      clock -= 3_600_001;
    }
  });

  it('forged: an unknown secret is PERMISSION_DENIED without echoing the secret', async () => {
    const real = decodeInvite(await invite('client'));
    const forged: InviteCode = { ...real, secret: randomBytes(32) };
    const err = (await redeemInvite(forged, generateKeyPair(), { now: clock }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toMatch(/not known to this grid manager/);
    expect(err.message).not.toContain(Buffer.from(forged.secret).toString('hex'));
    // The real code still works.
    await redeemInvite(real, generateKeyPair(), { now: clock });
  });

  it('forged: a garbled or foreign code is refused locally with a clear message', async () => {
    const code = await invite('client');
    const flipped = code.slice(0, 10) + (code[10] === 'A' ? 'B' : 'A') + code.slice(11);
    expect(() => decodeInvite(flipped)).toThrow(/checksum does not match/);
    expect(() => decodeInvite(code.slice(0, -5))).toThrow(InvalidArgumentError);
    expect(() => decodeInvite('hello')).toThrow(/should start with IG1-/);
    expect(() => decodeInvite('IG1-!!!')).toThrow(/garbled/);
    // Case and whitespace do not matter.
    expect(decodeInvite(` ${code.toLowerCase()}\n`).address).toBe(gm.address);
  });

  it('forged: a redeem request not signed by the key it names is refused', async () => {
    const inv = decodeInvite(await invite('client'));
    const victim = generateKeyPair();
    const attacker = generateKeyPair();
    // Sign with the attacker's key while naming the victim's public key.
    await expect(redeemInvite(inv, { publicKey: victim.publicKey, secretKey: attacker.secretKey }, { now: clock })).rejects.toThrow(/not signed by the key it names/);
    await redeemInvite(inv, victim, { now: clock });
  });

  it('wrong role: admin invites are refused at creation; a client invite cannot get a storage-server certificate', async () => {
    await expect(adminConn.createInvite({ role: 'admin' as 'client' })).rejects.toThrow(/cannot create admins/);
    await expect(adminConn.createInvite({ role: 'storage-server', quotaBytes: 10 })).rejects.toThrow(InvalidArgumentError);
    const inv = decodeInvite(await invite('client'));
    await expect(redeemInvite({ ...inv, role: 'storage-server' }, generateKeyPair(), { now: clock })).rejects.toThrow(/this invite is for role client, not storage-server/);
    // The refused attempt did not burn the invite.
    expect((await redeemInvite(inv, generateKeyPair(), { now: clock })).role).toBe('client');
  });

  it('only an admin may create invites', async () => {
    const key = generateKeyPair();
    const cert = await redeemInvite(decodeInvite(await invite('client')), key, { now: clock });
    const conn = connectGridManager(gm.address, { keyPair: key, certificates: [cert] }, { gridManagerPublicKey: gm.publicKey });
    try {
      await expect(conn.createInvite({ role: 'client' })).rejects.toThrow(PermissionError);
    } finally {
      conn.close();
    }
  });
});
