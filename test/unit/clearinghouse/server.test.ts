/**
 * The clearinghouse's RPCs on a real server (config written by init, restart on
 * the same database), on SQLite and PostgreSQL (test/fixtures/database-backends.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initClearinghouse,
  loadClearinghouseConfig,
  loadClearinghouseAdmin,
  startClearinghouse,
  type RunningClearinghouse,
  type ClearinghouseAdmin,
} from '../../../services/clearinghouse/index.js';
import { connectClearinghouse, openResolution, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { issueCertificate, verifyCertificate, validityWindow, type Identity } from '../../../libs/auth/index.js';
import { generateKeyPair, bytesEqual, type KeyPair } from '../../../libs/crypto/index.js';
import {
  AlreadyExistsError,
  AuthenticationError,
  IntegrityError,
  InvalidArgumentError,
  NotFoundError,
  PermissionError,
  PreconditionError,
  UnavailableError,
} from '../../../libs/errors/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { databaseBackends, appliedMigrations, BACKEND_SETUP_MS, type TestDatabase } from '../../fixtures/database-backends.js';

let dir: string;
let configPath: string;
let ch: RunningClearinghouse;
let admin: ClearinghouseAdmin;
let adminConn: ClearinghouseConnection;
/** The server's clock runs `skew` ms ahead of real time (kept within the auth check's allowed skew). */
let skew = 0;
const open: ClearinghouseConnection[] = [];

function connect(identity: Identity): ClearinghouseConnection {
  const c = connectClearinghouse(ch.address, identity, { clearinghousePublicKey: ch.publicKey });
  open.push(c);
  return c;
}

async function start(): Promise<void> {
  ch = await startClearinghouse(loadClearinghouseConfig(configPath), { now: () => Date.now() + skew, onInternal: () => {} });
}

/** A grid manager key admitted under `areaCode`. */
async function admittedGrid(areaCode: string, price = 0): Promise<KeyPair> {
  const gm = generateKeyPair();
  await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: `grid-${areaCode}`, areaCode, priceUnitsPerGib: price });
  return gm;
}

/** A contact point of `grid` holding a contact-point certificate from `gm`. */
function contactPoint(gm: KeyPair, grid: string): { key: KeyPair; conn: ClearinghouseConnection } {
  const key = generateKeyPair();
  const cert = issueCertificate(gm, { role: 'contact-point', subject: key.publicKey, grid, ...validityWindow(Date.now(), 3_600_000), limits: {} });
  return { key, conn: connect({ keyPair: key, certificates: [cert] }) };
}

/** A gateway of `grid` approved by the clearinghouse. */
async function gateway(grid: string): Promise<ClearinghouseConnection> {
  const key = generateKeyPair();
  const cert = await adminConn.approveGateway({ areaCode: grid, gatewayPublicKey: key.publicKey });
  return connect({ keyPair: key, certificates: [cert] });
}

for (const backend of databaseBackends('ch-server')) describe(`clearinghouse server on ${backend.name}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    await backend.setup();
    dir = mkdtempSync(join(tmpdir(), 'ch-server-'));
    ({ configPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' }));
    database = await backend.fresh();
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, contactPointFreshnessMs: 10_000, database }));
    await start();
    admin = loadClearinghouseAdmin(join(dir, 'admin.json'));
    adminConn = connect(admin.identity);
  }, BACKEND_SETUP_MS);

  afterAll(async () => {
    for (const c of open.splice(0)) c.close();
    await ch?.stop();
    rmSync(dir, { recursive: true, force: true });
    await backend.teardown();
  });

  describe('clearinghouse admission', () => {
    it('assigns the next free area code from 101 when none is requested', async () => {
      const a = await adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'first' });
      const b = await adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'second' });
      expect([a.areaCode, b.areaCode]).toEqual(['101', '102']);
    });

    it('admits a grid under the requested area code with its name, key and price', async () => {
      const gm = generateKeyPair();
      const g = await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'west', areaCode: '4242', priceUnitsPerGib: 7 });
      expect(g).toMatchObject({ areaCode: '4242', name: 'west', suspended: false, priceUnitsPerGib: 7, contactPoints: 0 });
      expect(bytesEqual(g.gridManagerPublicKey, gm.publicKey)).toBe(true);
    });

    it('refuses an area code that is already admitted with ALREADY_EXISTS', async () => {
      await admittedGrid('5000');
      await expect(adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'dup', areaCode: '5000' })).rejects.toThrow(AlreadyExistsError);
    });

    it('refuses a grid manager key that is already admitted with ALREADY_EXISTS', async () => {
      const gm = await admittedGrid('5001');
      await expect(adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'again' })).rejects.toThrow(/already admitted as area code 5001/);
    });

    it('rejects a malformed requested area code before sending it', async () => {
      await expect(adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'bad', areaCode: '12' })).rejects.toThrow(InvalidArgumentError);
    });

    it('lists admitted grids in area-code order', async () => {
      const codes = (await adminConn.listGrids()).map((g) => g.areaCode);
      expect(codes).toEqual([...codes].sort());
      expect(codes).toContain('4242');
    });
  });

  describe('clearinghouse gateway approval', () => {
    it('issues a gateway-approval certificate that verifies under the clearinghouse key', async () => {
      await admittedGrid('6000');
      const key = generateKeyPair();
      const cert = await adminConn.approveGateway({ areaCode: '6000', gatewayPublicKey: key.publicKey });
      const v = verifyCertificate(cert.encoded, { trustedIssuers: [ch.publicKey], now: Date.now(), expectedRole: 'gateway-approval', expectedSubject: key.publicKey });
      expect(v.grid).toBe('6000');
    });

    it('refuses to approve a gateway for an unknown area code with NOT_FOUND', async () => {
      await expect(adminConn.approveGateway({ areaCode: '6999', gatewayPublicKey: generateKeyPair().publicKey })).rejects.toThrow(NotFoundError);
    });

    it('refuses operator methods to a gateway with PERMISSION_DENIED', async () => {
      await admittedGrid('6001');
      const gw = await gateway('6001');
      await expect(gw.listGrids()).rejects.toThrow(PermissionError);
    });
  });

  describe('clearinghouse contact points and resolution', () => {
    let gm: KeyPair;
    let gw: ClearinghouseConnection;

    beforeAll(async () => {
      gm = await admittedGrid('7000', 11);
      await admittedGrid('7100');
      gw = await gateway('7100');
    });

    it('resolves a registered contact point in a resolution signed by the clearinghouse', async () => {
      const cp = contactPoint(gm, '7000');
      await cp.conn.registerContactPoint('127.0.0.1:4700');
      const r = await gw.resolve('7000');
      expect(r).toMatchObject({ areaCode: '7000', priceUnitsPerGib: 11 });
      expect(bytesEqual(r.gridManager, gm.publicKey)).toBe(true);
      expect(r.contactPoints.some((c) => c.address === '127.0.0.1:4700' && bytesEqual(c.publicKey, cp.key.publicKey))).toBe(true);
      expect(r.expiresAtMs).toBeGreaterThan(r.issuedAtMs);
    });

    it('returns a resolution that openResolution rejects once tampered', async () => {
      const signed = await gw.resolveSigned('7000');
      expect(openResolution(signed, ch.publicKey, Date.now()).areaCode).toBe('7000');
      const body = new TextEncoder().encode(new TextDecoder().decode(signed.body).replace('"priceUnitsPerGib":11', '"priceUnitsPerGib":0'));
      expect(() => openResolution({ body, signature: signed.signature }, ch.publicKey, Date.now())).toThrow(IntegrityError);
    });

    it('returns a resolution that does not open under another clearinghouse key', async () => {
      const signed = await gw.resolveSigned('7000');
      expect(() => openResolution(signed, generateKeyPair().publicKey, Date.now())).toThrow(IntegrityError);
    });

    it('client that trusts another clearinghouse key never talks to this one: refused at the TLS pin, naming the address', async () => {
      const key = generateKeyPair();
      const cert = await adminConn.approveGateway({ areaCode: '7100', gatewayPublicKey: key.publicKey });
      const wrong = connectClearinghouse(ch.address, { keyPair: key, certificates: [cert] }, { clearinghousePublicKey: generateKeyPair().publicKey });
      open.push(wrong);
      // (A resolution signed by another key is refused by openResolution too: the IntegrityError test above.)
      await expect(wrong.resolve('7000')).rejects.toThrow(UnavailableError);
      await expect(wrong.resolve('7000')).rejects.toThrow(`TLS key of ${ch.address}`);
    });

    it('client rejects a resolution that has expired by its own clock', async () => {
      const key = generateKeyPair();
      const cert = await adminConn.approveGateway({ areaCode: '7100', gatewayPublicKey: key.publicKey });
      const late = connectClearinghouse(ch.address, { keyPair: key, certificates: [cert] }, { clearinghousePublicKey: ch.publicKey, now: () => Date.now() + 3_600_000 });
      open.push(late);
      await expect(late.resolve('7000')).rejects.toThrow(PreconditionError);
    });

    it('client that trusts another clearinghouse key gets no gateway approval from this one (refused at the TLS pin)', async () => {
      const wrong = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: generateKeyPair().publicKey });
      open.push(wrong);
      await expect(wrong.approveGateway({ areaCode: '7100', gatewayPublicKey: generateKeyPair().publicKey })).rejects.toThrow(/TLS key of/);
    });

    it('client takes the clearinghouse key from its own gateway-approval certificate when none is given', async () => {
      const key = generateKeyPair();
      const cert = await adminConn.approveGateway({ areaCode: '7100', gatewayPublicKey: key.publicKey });
      const implicit = connectClearinghouse(ch.address, { keyPair: key, certificates: [cert] });
      open.push(implicit);
      expect((await implicit.resolve('7000')).areaCode).toBe('7000');
    });

    it('answers NOT_FOUND naming an unknown area code', async () => {
      await expect(gw.resolve('999')).rejects.toThrow(NotFoundError);
      await expect(gw.resolve('999')).rejects.toThrow(/area code 999 is not admitted/);
    });

    it('answers UNAVAILABLE for an admitted area code with no contact point', async () => {
      await admittedGrid('7200');
      await expect(gw.resolve('7200')).rejects.toThrow(UnavailableError);
    });

    it('answers FAILED_PRECONDITION naming a suspended area code, and resolves it again once reinstated', async () => {
      const gm2 = await admittedGrid('7300');
      await contactPoint(gm2, '7300').conn.registerContactPoint('127.0.0.1:4730');
      await adminConn.setGridSuspended('7300', true);
      await expect(gw.resolve('7300')).rejects.toThrow(PreconditionError);
      await expect(gw.resolve('7300')).rejects.toThrow(/7300/);
      await adminConn.setGridSuspended('7300', false);
      expect((await gw.resolve('7300')).areaCode).toBe('7300');
    });

    it('refuses Resolve to a contact point with PERMISSION_DENIED', async () => {
      const cp = contactPoint(gm, '7000');
      await expect(cp.conn.resolve('7000')).rejects.toThrow(PermissionError);
    });

    it('refuses a contact point whose grid manager was never admitted', async () => {
      const cp = contactPoint(generateKeyPair(), '7000');
      await expect(cp.conn.registerContactPoint('127.0.0.1:4701')).rejects.toThrow(AuthenticationError);
    });

    it('refuses a contact point whose certificate names another grid than its manager’s', async () => {
      const cp = contactPoint(gm, '7100');
      await expect(cp.conn.registerContactPoint('127.0.0.1:4702')).rejects.toThrow(PermissionError);
    });

    it('refuses a contact point of a suspended grid', async () => {
      const gm3 = await admittedGrid('7400');
      const cp = contactPoint(gm3, '7400');
      await adminConn.setGridSuspended('7400', true);
      await expect(cp.conn.registerContactPoint('127.0.0.1:4740')).rejects.toThrow(AuthenticationError);
      await adminConn.setGridSuspended('7400', false);
      await cp.conn.registerContactPoint('127.0.0.1:4740');
    });

    it('leaves a deregistered contact point out of resolutions', async () => {
      const gm4 = await admittedGrid('7500');
      const a = contactPoint(gm4, '7500');
      const b = contactPoint(gm4, '7500');
      await a.conn.registerContactPoint('127.0.0.1:4750');
      await b.conn.registerContactPoint('127.0.0.1:4751');
      await a.conn.deregisterContactPoint();
      expect((await gw.resolve('7500')).contactPoints.map((c) => c.address)).toEqual(['127.0.0.1:4751']);
    });

    it('leaves out contact points not seen within the freshness window', async () => {
      const gm5 = await admittedGrid('7600');
      await contactPoint(gm5, '7600').conn.registerContactPoint('127.0.0.1:4760');
      expect((await gw.resolve('7600')).contactPoints).toHaveLength(1);
      // The config sets a 10 s window; move the server clock 20 s on (within the auth check's 60 s skew).
      skew = 20_000;
      try {
        await expect(gw.resolve('7600')).rejects.toThrow(UnavailableError);
      } finally {
        skew = 0;
      }
    });

    it('refuses a malformed contact point address with INVALID_ARGUMENT', async () => {
      await expect(contactPoint(gm, '7000').conn.registerContactPoint('no-port')).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('clearinghouse prices', () => {
    it('records every price change in the history and serves the price in effect at a time', async () => {
      const admitted = await admittedGrid('8000', 3);
      expect(admitted.publicKey).toHaveLength(32);
      skew = 5_000;
      try {
        await adminConn.setPrice('8000', 9);
      } finally {
        skew = 0;
      }
      expect((await adminConn.listGrids()).find((x) => x.areaCode === '8000')?.priceUnitsPerGib).toBe(9);
      const history = await ch.grids.priceHistory('8000');
      expect(history.map((h) => h.priceUnitsPerGib)).toEqual([3, 9]);
      const [first, second] = [history[0]!.effectiveFromMs, history[1]!.effectiveFromMs];
      expect(await ch.grids.priceAt('8000', first)).toBe(3);
      expect(await ch.grids.priceAt('8000', second - 1)).toBe(3);
      expect(await ch.grids.priceAt('8000', second)).toBe(9);
      await expect(ch.grids.priceAt('8000', first - 1)).rejects.toThrow(NotFoundError);
    });

    it('refuses a price for an unknown area code with NOT_FOUND', async () => {
      await expect(adminConn.setPrice('8999', 1)).rejects.toThrow(NotFoundError);
    });
  });

  describe('clearinghouse restart', () => {
    it('keeps grids, suspensions and prices across a restart', async () => {
      await admittedGrid('9000', 4);
      await adminConn.setGridSuspended('9000', true);
      const before = await adminConn.listGrids();
      for (const c of open.splice(0)) c.close();
      await ch.stop();
      await start();
      adminConn = connect(admin.identity);
      const after = await adminConn.listGrids();
      expect(after.map((g) => [g.areaCode, g.suspended, g.priceUnitsPerGib])).toEqual(before.map((g) => [g.areaCode, g.suspended, g.priceUnitsPerGib]));
      expect(after.find((g) => g.areaCode === '9000')?.suspended).toBe(true);
    });

    it('records its migrations once, by name, in its knex migrations table (none re-applied by the restart)', async () => {
      const applied = await appliedMigrations(database, CLEARINGHOUSE_MIGRATIONS_TABLE);
      expect(applied.map((m) => m.name)).toEqual(clearinghouseMigrations.map((m) => m.name));
      expect(new Set(applied.map((m) => m.batch))).toEqual(new Set([1]));
    });
  });
});
