/**
 * Federation invites against a real clearinghouse (gRPC on loopback, on
 * SQLite and PostgreSQL: test/fixtures/database-backends.ts): CreateGridInvite (operator only) and FederationInvite.Redeem —
 * admission with the invite's name and price, one-time use (also under two
 * concurrent redemptions), expiry, forged secrets, area codes, and refused
 * admissions leaving the invite usable.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initClearinghouse,
  loadClearinghouseAdmin,
  loadClearinghouseConfig,
  startClearinghouse,
  type RunningClearinghouse,
} from '../../../services/clearinghouse/index.js';
import {
  connectClearinghouse,
  decodeGridInvite,
  encodeGridInvite,
  redeemGridInvite,
  type ClearinghouseConnection,
  type CreateGridInviteInput,
  type GridInviteCode,
} from '../../../libs/federation/index.js';
import { issueCertificate, validityWindow } from '../../../libs/auth/index.js';
import { bytesEqual, generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';
import { AlreadyExistsError, InvalidArgumentError, PermissionError, PreconditionError } from '../../../libs/errors/index.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

let dir: string;
let ch: RunningClearinghouse;
let adminConn: ClearinghouseConnection;
let clock = Date.now();

async function invite(input: CreateGridInviteInput): Promise<GridInviteCode> {
  const inv = await adminConn.createGridInvite(input);
  expect(bytesEqual(inv.clearinghousePublicKey, ch.publicKey)).toBe(true);
  const code = encodeGridInvite({ secret: inv.secret, clearinghousePublicKey: inv.clearinghousePublicKey, name: input.name, areaCode: input.areaCode ?? '', address: ch.address });
  return decodeGridInvite(code);
}

const redeem = (inv: GridInviteCode, areaCode: string, key = generateKeyPair()) => redeemGridInvite(inv, key, areaCode, { now: clock });

for (const backend of databaseBackends('ch-invite')) describe(`federation invites on ${backend.name}`, () => {
  beforeAll(async () => {
    await backend.setup();
    dir = mkdtempSync(join(tmpdir(), 'ch-invite-'));
    const init = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const config = JSON.parse(readFileSync(init.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(init.configPath, JSON.stringify({ ...config, database: await backend.fresh() }));
    ch = await startClearinghouse(loadClearinghouseConfig(init.configPath), { now: () => clock, onInternal: () => {} });
    const admin = loadClearinghouseAdmin(init.adminIdentityPath);
    adminConn = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: admin.clearinghouse.publicKey });
  }, BACKEND_SETUP_MS);

  afterAll(async () => {
    adminConn?.close();
    await ch?.stop();
    rmSync(dir, { recursive: true, force: true });
    await backend.teardown();
  });

  it('redeem: the grid is admitted under its configured area code with the invite name and price, and listed', async () => {
    const inv = await invite({ name: 'east', areaCode: '301', priceUnitsPerGib: 7 });
    const gm = generateKeyPair();
    const g = await redeem(inv, '301', gm);
    expect(g).toMatchObject({ areaCode: '301', name: 'east', priceUnitsPerGib: 7, suspended: false });
    const listed = (await adminConn.listGrids()).find((x) => x.areaCode === '301');
    expect(listed && bytesEqual(listed.gridManagerPublicKey, gm.publicKey)).toBe(true);
    expect(listed?.priceUnitsPerGib).toBe(7);
    expect(await ch.grids.priceAt('301', clock)).toBe(7);
    // Admitted like AdmitGrid: its manager's key is now trusted for contact points.
    expect(ch.grids.activeGridManagerKeys().some((k) => bytesEqual(k, gm.publicKey))).toBe(true);
  });

  it('redeem: an invite without an area code admits the grid manager configured area code', async () => {
    const inv = await invite({ name: 'west' });
    expect(inv.areaCode).toBe('');
    expect((await redeem(inv, '402')).areaCode).toBe('402');
  });

  it('reuse: the second redemption (even by another grid) is FAILED_PRECONDITION "invite already used"', async () => {
    const inv = await invite({ name: 'reuse' });
    await redeem(inv, '501');
    await expect(redeem(inv, '502')).rejects.toThrow(PreconditionError);
    await expect(redeem(inv, '503')).rejects.toThrow(/invite already used \(redeemed at/);
    expect(await ch.grids.get('502')).toBeUndefined();
  });

  it('retry: the grid that redeemed an invite gets the same admission again (a lost reply), nobody else does', async () => {
    const inv = await invite({ name: 'retry', priceUnitsPerGib: 77 });
    const gm = generateKeyPair();
    const first = await redeem(inv, '511', gm);
    const again = await redeem(inv, '511', gm);
    expect(again).toMatchObject({ areaCode: '511', name: 'retry', priceUnitsPerGib: 77 });
    expect(again.admittedAtMs).toBe(first.admittedAtMs);
    expect((await adminConn.listGrids()).filter((g) => g.areaCode === '511')).toHaveLength(1);
    // The same key for another area code, or another key: the invite is used.
    await expect(redeem(inv, '512', gm)).rejects.toThrow(/invite already used/);
    await expect(redeem(inv, '511')).rejects.toThrow(/invite already used/);
  });

  it('reuse: two concurrent redemptions — exactly one grid is admitted', async () => {
    const inv = await invite({ name: 'race' });
    const results = await Promise.allSettled([redeem(inv, '601'), redeem(inv, '602')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(failed.reason)).toMatch(/invite already used/);
    const admitted = (await adminConn.listGrids()).filter((g) => g.name === 'race');
    expect(admitted).toHaveLength(1);
  });

  it('expired: refused with the expiry time, and the refused attempt did not consume it', async () => {
    const inv = await invite({ name: 'late', expiresInMs: 3_600_000 });
    const expiresAt = new Date(clock + 3_600_000).toISOString();
    clock += 3_600_001;
    try {
      await expect(redeem(inv, '701')).rejects.toThrow(PreconditionError);
      await expect(redeem(inv, '701')).rejects.toThrow(`invite expired at ${expiresAt}`);
    } finally {
      clock -= 3_600_001;
    }
    expect((await redeem(inv, '701')).name).toBe('late');
  });

  it('forged: an unknown secret is PERMISSION_DENIED without echoing it; the real code still works', async () => {
    const real = await invite({ name: 'real' });
    const forged: GridInviteCode = { ...real, secret: randomBytes(32) };
    const err = (await redeem(forged, '801').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toMatch(/not known to this clearinghouse/);
    expect(err.message).not.toContain(toHex(forged.secret));
    expect((await redeem(real, '801')).name).toBe('real');
  });

  it('forged: a redeem request signed by another key than the grid manager key it names is refused', async () => {
    const inv = await invite({ name: 'signed' });
    const victim = generateKeyPair();
    const attacker = generateKeyPair();
    await expect(redeem(inv, '811', { publicKey: victim.publicKey, secretKey: attacker.secretKey })).rejects.toThrow(
      /not signed by the grid manager key it names/,
    );
    expect(await ch.grids.get('811')).toBeUndefined();
    expect((await redeem(inv, '811', victim)).areaCode).toBe('811');
  });

  it('wrong area code: refused by the clearinghouse (and locally by the client), the invite stays usable', async () => {
    const inv = await invite({ name: 'north', areaCode: '901' });
    // The client refuses before sending anything …
    await expect(redeem(inv, '902')).rejects.toThrow(InvalidArgumentError);
    // … and the clearinghouse checks its own record of the invite.
    const err = (await redeem({ ...inv, areaCode: '' }, '902').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toMatch(/this invite is for area code 901, not 902/);
    expect(await ch.grids.get('902')).toBeUndefined();
    expect((await redeem(inv, '901')).name).toBe('north');
  });

  it('taken area code: ALREADY_EXISTS with a clear message, and the invite is not consumed', async () => {
    await adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'first', areaCode: '951' });
    const inv = await invite({ name: 'second' });
    const err = (await redeem(inv, '951').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect(err.message).toMatch(/area code 951 is already admitted \(grid 'first'\)/);
    expect((await redeem(inv, '952')).name).toBe('second');
    // An invite naming a taken area code is refused when created.
    await expect(adminConn.createGridInvite({ name: 'x', areaCode: '951' })).rejects.toThrow(/area code 951 is already admitted/);
  });

  it('grid key already admitted: ALREADY_EXISTS naming its area code, and the invite is not consumed', async () => {
    const gm = generateKeyPair();
    await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'twice', areaCode: '961' });
    const inv = await invite({ name: 'again' });
    await expect(redeem(inv, '962', gm)).rejects.toThrow(/is already admitted as area code 961/);
    expect((await redeem(inv, '962')).areaCode).toBe('962');
  });

  it('create: bad input is INVALID_ARGUMENT; only the operator may create invites', async () => {
    await expect(adminConn.createGridInvite({ name: '  ' })).rejects.toThrow(/grid name is empty/);
    await expect(adminConn.createGridInvite({ name: 'x', expiresInMs: 31 * 86_400_000 })).rejects.toThrow(/more than 30 days/);
    await expect(adminConn.createGridInvite({ name: 'ü'.repeat(128) })).rejects.toThrow(/longer than 255 bytes/);
    // A grid's own admin (issued by an admitted grid's manager) is not the operator.
    const gm = generateKeyPair();
    await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'g', areaCode: '971' });
    const key = generateKeyPair();
    const cert = issueCertificate(gm, { role: 'admin', subject: key.publicKey, grid: '971', ...validityWindow(Date.now(), 3_600_000), limits: {} });
    const gridAdmin = connectClearinghouse(ch.address, { keyPair: key, certificates: [cert] }, { clearinghousePublicKey: ch.publicKey });
    try {
      await expect(gridAdmin.createGridInvite({ name: 'sneaky' })).rejects.toThrow(PermissionError);
    } finally {
      gridAdmin.close();
    }
  });
});
