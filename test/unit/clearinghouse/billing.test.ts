/**
 * Billing at the clearinghouse through its gRPC API (docs/billing.md): a
 * real server, real certificates, real signed receipts and served records,
 * on SQLite and PostgreSQL (test/fixtures/database-backends.ts).
 */
import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, connectLedger, type RunningClearinghouse, type LedgerConnection } from '../../../services/clearinghouse/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { issueCertificate, signJson, validityWindow, type Identity } from '../../../libs/auth/index.js';
import { RECEIPT_TAG } from '../../../libs/usage/index.js';
import { generateKeyPair, type KeyPair } from '../../../libs/crypto/index.js';
import { costOf, openStatement, type GridStatementBody, type SummaryBody } from '../../../libs/ledger/index.js';
import { AlreadyExistsError, PermissionError, PreconditionError } from '../../../libs/errors/index.js';
import { keyOf, receiptBody, transferRecords, servedRecord, receiptRecord, type TransferSpec } from './billing-fixture.js';
import { databaseBackends, BACKEND_SETUP_MS, type Backend } from '../../fixtures/database-backends.js';

const GIB = 2 ** 30;
const PRICES: Record<string, number> = { '101': 1000, '102': 2000, '103': 3000 };

interface Grid {
  code: string;
  gm: KeyPair;
  cpKey: KeyPair;
  gwKey: KeyPair;
  cp: LedgerConnection;
  gw: LedgerConnection;
}

let dir: string;
let ch: RunningClearinghouse;
let adminConn: ClearinghouseConnection;
let op: LedgerConnection;
let grids: Record<string, Grid>;
let priceAsOf: number;
const open: { close(): void }[] = [];
let seq = 0;
/** The database backend of the running describe (test/fixtures/database-backends.ts). */
let backend: Backend;

function ledgerAs(identity: Identity): LedgerConnection {
  const c = connectLedger(ch.address, identity, { clearinghousePublicKey: ch.publicKey });
  open.push(c);
  return c;
}

async function start(extra: Record<string, unknown> = {}): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'ch-billing-'));
  const { configPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' });
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(configPath, JSON.stringify({ ...config, database: await backend.fresh(), ...extra }));
  ch = await startClearinghouse(loadClearinghouseConfig(configPath), { onInternal: (e) => console.error(e) });
  const admin = loadClearinghouseAdmin(join(dir, 'admin.json'));
  adminConn = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: ch.publicKey });
  open.push(adminConn);
  op = ledgerAs(admin.identity);
  grids = {};
  for (const code of Object.keys(PRICES)) {
    const gm = generateKeyPair();
    await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: `grid-${code}`, areaCode: code, priceUnitsPerGib: PRICES[code] });
    const cpKey = generateKeyPair();
    const cpCert = issueCertificate(gm, { role: 'contact-point', subject: cpKey.publicKey, grid: code, ...validityWindow(Date.now(), 3_600_000), limits: {} });
    const gwKey = generateKeyPair();
    const gwCert = await adminConn.approveGateway({ areaCode: code, gatewayPublicKey: gwKey.publicKey });
    grids[code] = {
      code,
      gm,
      cpKey,
      gwKey,
      cp: ledgerAs({ keyPair: cpKey, certificates: [cpCert] }),
      gw: ledgerAs({ keyPair: gwKey, certificates: [gwCert] }),
    };
  }
  priceAsOf = Date.now();
}

/** A transfer from `exporter` to `importer` (the importer's gateway fetched from the exporter's contact point). */
function transfer(exporter: string, importer: string, bytes: number, over: Partial<TransferSpec> = {}): TransferSpec {
  return {
    transferId: `t-${exporter}-${importer}-${++seq}`,
    exporter,
    importer,
    gateway: grids[importer]!.gwKey,
    contactPoint: grids[exporter]!.cpKey,
    bytes,
    priceUnitsPerGib: PRICES[exporter]!,
    priceAsOfMs: priceAsOf,
    atMs: Date.now(),
    ...over,
  };
}

/** Reports both sides (receipt by the importer's gateway, served by the exporter's contact point). */
async function reportBoth(t: TransferSpec): Promise<void> {
  const { served, receipt } = transferRecords(t);
  expect((await grids[t.importer]!.gw.reportUsage([receipt]))[0]!.outcome).toBe('ACCEPTED');
  expect((await grids[t.exporter]!.cp.reportUsage([served]))[0]!.outcome).toBe('ACCEPTED');
}

for (const b of databaseBackends('ch-billing')) describe(`clearinghouse billing on ${b.name}`, () => {
  beforeAll(async () => {
    backend = b;
    await b.setup();
  }, BACKEND_SETUP_MS);
  afterAll(() => b.teardown());

  beforeEach(async () => {
    await start();
  });

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await ch?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('ReportUsage', () => {
    it('posts a transfer exactly when both sides agree: exact bytes and integer units', async () => {
      const bytes = 3 * GIB + 5;
      const t = transfer('101', '102', bytes);
      const { served, receipt } = transferRecords(t);
      expect((await grids['102']!.gw.reportUsage([receipt]))[0]).toMatchObject({ outcome: 'ACCEPTED', recordId: `rcpt-${keyOf(t)}` });
      let l = await op.getLedger();
      expect(l.pairs).toEqual([]);
      expect(l.pendingRecords).toBe(1);
      expect((await grids['101']!.cp.reportUsage([served]))[0]).toMatchObject({ outcome: 'ACCEPTED', recordId: `srv-${keyOf(t)}` });
      l = await op.getLedger();
      expect(costOf(bytes, 1000)).toBe(3001);
      expect(l.pairs).toEqual([{ exporter: '101', importer: '102', bytes, units: 3001, transfers: 1 }]);
      expect(l).toMatchObject({ pendingRecords: 0, openDisputes: 0, records: 2 });
    });

    it('counts a duplicate (same id, same record) once', async () => {
      const t = transfer('101', '102', 1000);
      const { served, receipt } = transferRecords(t);
      await grids['102']!.gw.reportUsage([receipt]);
      const first = await grids['101']!.cp.reportUsage([served, served]);
      expect(first.map((r) => r.outcome)).toEqual(['ACCEPTED', 'DUPLICATE']);
      const again = await grids['101']!.cp.reportUsage([served]);
      expect(again[0]!.outcome).toBe('DUPLICATE');
      expect((await grids['102']!.gw.reportUsage([receipt]))[0]!.outcome).toBe('DUPLICATE');
      const l = await op.getLedger();
      expect(l.pairs).toEqual([{ exporter: '101', importer: '102', bytes: 1000, units: 1, transfers: 1 }]);
      expect(l.records).toBe(2);
    });

    it('rejects a second, different record for the same transfer and kind', async () => {
      const t = transfer('101', '102', 1000);
      await grids['102']!.gw.reportUsage([receiptRecord(t)]);
      const other = await grids['102']!.gw.reportUsage([receiptRecord({ ...t, bytes: 2000 })]);
      expect(other[0]!.outcome).toBe('REJECTED');
      expect(other[0]!.message).toMatch(new RegExp(`record rcpt-${keyOf(t)}: a different record with this id is already stored`));
    });

    it('rejects a tampered record (bytes changed after signing) with a clear message, and stores the rest of the batch', async () => {
      const t = transfer('101', '102', 1000);
      const good = transfer('101', '102', 500);
      const r = receiptRecord(t);
      const tampered = { ...r, body: Buffer.from(Buffer.from(r.body).toString('utf8').replace('"bytes":1000', '"bytes":9000')) };
      const res = await grids['102']!.gw.reportUsage([tampered, receiptRecord(good)]);
      expect(res[0]).toMatchObject({ index: 0, recordId: `rcpt-${keyOf(t)}`, outcome: 'REJECTED' });
      expect(res[0]!.message).toMatch(new RegExp(`^record rcpt-${keyOf(t)}: .*'intergrid:receipt:v2'.*does not verify`));
      expect(res[1]!.outcome).toBe('ACCEPTED');
      expect((await op.getLedger()).records).toBe(1);
    });

    it('rejects a record signed by a key other than the caller', async () => {
      const t = transfer('101', '102', 1000);
      const otherCp = generateKeyPair();
      const res = await grids['101']!.cp.reportUsage([servedRecord({ ...t, contactPoint: otherCp })]);
      expect(res[0]!.outcome).toBe('REJECTED');
      expect(res[0]!.message).toMatch(/signed by contact point .* not by the caller/);
      // A gateway reporting another grid's receipt.
      const res2 = await grids['103']!.gw.reportUsage([receiptRecord(t)]);
      expect(res2[0]!.message).toMatch(/signed by gateway .* not by the caller/);
      // A contact point reporting for another exporter.
      const res3 = await grids['103']!.cp.reportUsage([servedRecord({ ...t, contactPoint: grids['103']!.cpKey })]);
      expect(res3[0]!.message).toMatch(/exporter is area code 101, but the caller is a contact point of 103/);
    });

    it('rejects a served record whose receipt is signed by a gateway not approved for the importer', async () => {
      const rogue = generateKeyPair();
      const t = transfer('101', '102', 1000, { receiptSigner: rogue });
      const res = await grids['101']!.cp.reportUsage([servedRecord(t)]);
      expect(res[0]!.outcome).toBe('REJECTED');
      expect(res[0]!.message).toMatch(/its receipt is signed by gateway .* which was not approved for importer 102/);
      // The gateway of grid 103 is approved, but for 103, not 102.
      const t2 = transfer('101', '102', 1000, { receiptSigner: grids['103']!.gwKey });
      expect((await grids['101']!.cp.reportUsage([servedRecord(t2)]))[0]!.message).toMatch(/not approved for importer 102/);
    });

    it('opens a bytes-mismatch dispute for an over-reporting contact point and posts nothing', async () => {
      const t = transfer('101', '102', 1000, { servedBytes: 5000 });
      await reportBoth(t);
      const l = await op.getLedger();
      expect(l.pairs).toEqual([]);
      expect(l.openDisputes).toBe(1);
      const [d] = await op.listDisputes();
      expect(d).toMatchObject({ transferId: keyOf(t), reason: 'bytes-mismatch', servedBytes: 5000, receiptBytes: 1000, state: 'open', priceUnitsPerGib: 1000 });
      expect(d!.detail).toMatch(/served 5000 bytes, received 1000/);
    });

    it('opens a price-mismatch dispute when the receipt states another price than the exporter had', async () => {
      await reportBoth(transfer('101', '102', 1000, { priceUnitsPerGib: 999 }));
      const [d] = await op.listDisputes();
      expect(d).toMatchObject({ reason: 'price-mismatch', priceUnitsPerGib: 1000 });
    });

    it("bills at the exporter's price in effect at priceAsOfMs, not the current one", async () => {
      const t = transfer('101', '102', GIB);
      await new Promise((r) => setTimeout(r, 5));
      await adminConn.setPrice('101', 7777);
      await reportBoth(t);
      expect((await op.getLedger()).pairs[0]).toMatchObject({ units: 1000 });
    });

    it('opens a missing-receipt dispute when the served record carries no receipt', async () => {
      await reportBoth(transfer('101', '102', 1000, { withReceipt: false }));
      expect((await op.listDisputes())[0]).toMatchObject({ reason: 'missing-receipt' });
    });
  });

  describe('a lying side (issue 11)', () => {
    it('refuses a 0-byte receipt (REJECTED naming the rule): both sides agreeing on 0 can no longer zero a bill', async () => {
      const t = transfer('101', '102', 0);
      const signed = signJson(RECEIPT_TAG, receiptBody(t), grids['102']!.gwKey);
      const [res] = await grids['102']!.gw.reportUsage([{ kind: 'receipt', ...signed }]);
      expect(res).toMatchObject({ outcome: 'REJECTED', recordId: `rcpt-${keyOf(t)}` });
      expect(res!.message).toMatch(/ranges: a receipt covers at least one byte range/);
      expect((await op.getLedger()).records).toBe(0);
    });

    it("disputes whenever the two counts differ, whichever is lower, and posts nothing (bad-input table)", async () => {
      const cases: [string, number, number, RegExp][] = [
        ['a short receipt (the gateway under-reports)', 1, 5000, /served 5000 bytes, received 1: the receipt covers less than the contact point counted/],
        ['an over-reporting contact point', 1000, 1001, /served 1001 bytes, received 1000: the receipt covers less/],
        ['a contact point without its count (restarted)', 4096, 0, /served 0 bytes, received 4096: the receipt covers more than the contact point counted/],
      ];
      for (const [what, receiptBytes, servedBytes, detail] of cases) {
        const t = transfer('101', '102', receiptBytes, { servedBytes });
        await reportBoth(t);
        const d = (await op.listDisputes()).find((x) => x.transferId === keyOf(t));
        expect(d, what).toMatchObject({ reason: 'bytes-mismatch', servedBytes, receiptBytes, state: 'open' });
        expect(d!.detail, what).toMatch(detail);
      }
      expect((await op.getLedger()).pairs).toEqual([]);
    });

    it("keeps two gateways' transfers with the same id apart: both are posted, each to its own grid", async () => {
      const a = transfer('101', '102', 1000, { transferId: 'shared-id' });
      const b = transfer('101', '103', GIB, { transferId: 'shared-id' });
      await reportBoth(a);
      await reportBoth(b);
      const l = await op.getLedger();
      expect(l.pairs).toEqual([
        { exporter: '101', importer: '102', bytes: 1000, units: 1, transfers: 1 },
        { exporter: '101', importer: '103', bytes: GIB, units: 1000, transfers: 1 },
      ]);
      expect(l).toMatchObject({ openDisputes: 0, pendingRecords: 0, records: 4 });
    });

    it('bounds the price date by the transfer: an old or a future one is a price-date dispute at the price of the transfer time', async () => {
      // 101's history: 1000 (admission), then 1 (cheap, for a moment), then 5000 (now).
      const cheapFrom = Date.now();
      await adminConn.setPrice('101', 1);
      await new Promise((r) => setTimeout(r, 5));
      await adminConn.setPrice('101', 5000);
      const now = Date.now();
      const later = now + 10 * 60_000; // well past resolutionTtlMs + maxClockSkewMs (60 s each) after the cheap price
      const cases: [string, Partial<TransferSpec>, RegExp][] = [
        ['the cheap old price date', { priceAsOfMs: cheapFrom + 1, priceUnitsPerGib: 1, atMs: later, startedAtMs: later }, /is older than any resolution valid when the transfer began/],
        ['a date after the transfer', { priceAsOfMs: later, priceUnitsPerGib: 5000, atMs: now, startedAtMs: now }, /is after the transfer/],
        ["a date after the gateway's own receipt time", { priceAsOfMs: later, priceUnitsPerGib: 5000, atMs: now, startedAtMs: later, servedAtMs: later }, /is after the transfer/],
      ];
      for (const [what, over, detail] of cases) {
        const t = transfer('101', '102', GIB, over);
        await reportBoth(t);
        const d = (await op.listDisputes()).find((x) => x.transferId === keyOf(t));
        expect(d, what).toMatchObject({ reason: 'price-date', state: 'open', priceUnitsPerGib: 5000 });
        expect(d!.detail, what).toMatch(detail);
      }
      expect((await op.getLedger()).pairs).toEqual([]);
      // Resolving posts at the transfer time's price, never the cheap one the gateway picked.
      const [first] = await op.listDisputes();
      expect(await op.resolveDispute(first!.id, 'accept-receipt')).toMatchObject({ postedUnits: 5000 });
      // An honest date (the resolution was issued a little before the fetch began) posts.
      const honest = transfer('101', '102', GIB, { priceAsOfMs: now, priceUnitsPerGib: 5000, atMs: now + 30_000, startedAtMs: now + 30_000 });
      await reportBoth(honest);
      expect((await op.listDisputes()).find((x) => x.transferId === keyOf(honest))).toBeUndefined();
      expect((await op.getLedger()).pairs).toEqual([{ exporter: '101', importer: '102', bytes: 2 * GIB, units: 10_000, transfers: 2 }]);
    });
  });

  describe('disputes', () => {
    it('resolving posts at the accepted side and the exporter price; resolving twice fails', async () => {
      await reportBoth(transfer('101', '102', 2 * GIB, { servedBytes: 3 * GIB }));
      const [d] = await op.listDisputes();
      const r = await op.resolveDispute(d!.id, 'accept-receipt', 'gateway verified 2 GiB');
      expect(r).toMatchObject({ state: 'resolved', resolution: 'accept-receipt', postedUnits: 2000, note: 'gateway verified 2 GiB' });
      expect((await op.getLedger()).pairs).toEqual([{ exporter: '101', importer: '102', bytes: 2 * GIB, units: 2000, transfers: 1 }]);
      await expect(op.resolveDispute(d!.id, 'void')).rejects.toThrow(PreconditionError);
      expect(await op.listDisputes()).toEqual([]);
      expect(await op.listDisputes(true)).toHaveLength(1);
    });

    it('void posts nothing; accept-served posts the served bytes', async () => {
      await reportBoth(transfer('101', '102', 1000, { servedBytes: 3000 }));
      await reportBoth(transfer('102', '103', 1000, { servedBytes: 4000 }));
      const [a, b] = await op.listDisputes();
      await op.resolveDispute(a!.id, 'void');
      await op.resolveDispute(b!.id, 'accept-served');
      expect((await op.getLedger()).pairs).toEqual([{ exporter: '102', importer: '103', bytes: 4000, units: costOf(4000, 2000), transfers: 1 }]);
    });
  });

  describe('periods and statements', () => {
    it('statements for 3 grids with traffic in every direction sum to zero, verify, and a grid sees only its own', async () => {
      const flows: [string, string, number][] = [
        ['101', '102', 5 * GIB + 1],
        ['102', '101', 2 * GIB],
        ['101', '103', 123_456_789],
        ['103', '101', GIB / 2],
        ['102', '103', 7 * GIB],
        ['103', '102', 999],
      ];
      for (const [e, i, b] of flows) await reportBoth(transfer(e, i, b));
      const p = await op.closePeriod();
      expect(p).toMatchObject({ id: '1', fromMs: 0, grids: 3, transfers: 6 });
      const s = await op.getStatements();
      const summary = openStatement(s.summary, ch.publicKey) as SummaryBody;
      expect(summary.totalUnits).toBe(0);
      expect(summary.balances.reduce((a, b) => a + b.netUnits, 0)).toBe(0);
      const bodies = s.statements.map((x) => openStatement(x, ch.publicKey) as GridStatementBody);
      expect(bodies.map((b) => b.areaCode)).toEqual(['101', '102', '103']);
      const owed = (e: string, i: string) => costOf(flows.find((f) => f[0] === e && f[1] === i)![2], PRICES[e]!);
      const s101 = bodies[0]!;
      expect(s101.netUnits).toBe(owed('101', '102') + owed('101', '103') - owed('102', '101') - owed('103', '101'));
      expect(s101.lines.find((l) => l.counterpart === '102')).toMatchObject({ bytesExported: 5 * GIB + 1, bytesImported: 2 * GIB });
      for (const b of bodies) expect(summary.balances.find((x) => x.areaCode === b.areaCode)!.netUnits).toBe(b.netUnits);
      // The open period is empty again; the next close has no traffic.
      expect((await op.getLedger()).pairs).toEqual([]);
      const p2 = await op.closePeriod('2026-12');
      expect(p2).toMatchObject({ id: '2026-12', fromMs: p.toMs, grids: 0, transfers: 0 });
      const empty = openStatement((await op.getStatements('2026-12')).summary, ch.publicKey) as SummaryBody;
      expect(empty.balances).toEqual([]);
      await expect(op.closePeriod('2026-12')).rejects.toThrow(AlreadyExistsError);
      expect((await op.listPeriods()).map((x) => x.id)).toEqual(['1', '2026-12']);

      // A grid's own 'admin' certificate (issued by its grid manager): its statement and the summary only.
      const g = grids['102']!;
      const key = generateKeyPair();
      const cert = issueCertificate(g.gm, { role: 'admin', subject: key.publicKey, grid: '102', ...validityWindow(Date.now(), 60_000), limits: {} });
      const gridConn = ledgerAs({ keyPair: key, certificates: [cert] });
      const mine = await gridConn.getStatements('1');
      expect(mine.statements).toHaveLength(1);
      expect((openStatement(mine.statements[0]!, ch.publicKey) as GridStatementBody).areaCode).toBe('102');
      expect((openStatement(mine.summary, ch.publicKey) as SummaryBody).totalUnits).toBe(0);
      expect((await gridConn.listPeriods()).length).toBe(2);
      await expect(gridConn.closePeriod()).rejects.toThrow();
      // An 'admin' certificate for 102 issued by grid 101's manager is refused.
      const forged = issueCertificate(grids['101']!.gm, { role: 'admin', subject: key.publicKey, grid: '102', ...validityWindow(Date.now(), 60_000), limits: {} });
      await expect(ledgerAs({ keyPair: key, certificates: [forged] }).getStatements('1')).rejects.toThrow(PermissionError);
    });
  });

  describe('missing sides', () => {
    it('a side alone past the grace becomes a missing-side dispute at ClosePeriod; the late side then matches it', async () => {
      for (const c of open.splice(0)) c.close();
      await ch.stop();
      rmSync(dir, { recursive: true, force: true });
      await start({ unmatchedGraceMs: 0 });
      const t = transfer('101', '102', 4096);
      await grids['102']!.gw.reportUsage([receiptRecord(t)]);
      await new Promise((r) => setTimeout(r, 2));
      await op.closePeriod();
      const [d] = await op.listDisputes();
      expect(d).toMatchObject({ transferId: keyOf(t), reason: 'missing-side', receiptBytes: 4096, servedBytes: null, priceUnitsPerGib: 1000 });
      await expect(op.resolveDispute(d!.id, 'accept-served')).rejects.toThrow(/has no served report/);
      expect((await grids['101']!.cp.reportUsage([servedRecord(t)]))[0]!.outcome).toBe('ACCEPTED');
      const [after] = await op.listDisputes(true);
      expect(after).toMatchObject({ state: 'resolved', resolution: 'matched', postedUnits: 1 });
      expect((await op.getLedger()).pairs).toEqual([{ exporter: '101', importer: '102', bytes: 4096, units: 1, transfers: 1 }]);
    });
  });
});
