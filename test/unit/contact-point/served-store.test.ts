/**
 * The contact point's store on SQLite and a throwaway PostgreSQL
 * (test/fixtures/database-backends.ts): counting, receipts,
 * served records queued in the outbox (with the receipt, without one after
 * the wait, from the receipt alone after a restart), persistence.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { generateKeyPair, randomBytes, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { openDatabase, type DatabaseConfig } from '../../../libs/db/index.js';
import { AlreadyExistsError, InvalidArgumentError, PreconditionError } from '../../../libs/errors/index.js';
import type { UsageRecordPayload } from '../../../libs/federation/index.js';
import { openServedRecord, openReceipt, receiptRecordId, signReceipt, type ReceiptBody } from '../../../libs/usage/index.js';
import { CONTACT_POINT_MIGRATIONS_TABLE, contactPointMigrations, ServedStore } from '../../../services/contact-point/index.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const AREA = '102';
const GW_AREA = '101';
let config: DatabaseConfig;
let knex: Knex;
let store: ServedStore;
let cpKey: KeyPair;
let gwKey: KeyPair;
let clock: number;
let queued: number;
const si = randomBytes(16);

async function open(): Promise<void> {
  knex = await openDatabase(config, contactPointMigrations, CONTACT_POINT_MIGRATIONS_TABLE);
  store = await ServedStore.open(knex, { key: cpKey, areaCode: AREA, now: () => clock, onQueued: () => (queued += 1) });
}

function receipt(transferId: string, bytes: number, extra: Partial<ReceiptBody> = {}): { body: ReceiptBody; signed: ReturnType<typeof signReceipt> } {
  const body: ReceiptBody = {
    version: 2,
    recordId: receiptRecordId(toHex(gwKey.publicKey), transferId),
    transferId,
    storageIndex: toHex(si),
    ranges: bytes > 0 ? [{ offset: 0, length: bytes }] : [],
    bytes,
    priceUnitsPerGib: 7,
    priceAsOfMs: clock - 10,
    exporter: AREA,
    importer: GW_AREA,
    gateway: toHex(gwKey.publicKey),
    contactPoint: toHex(cpKey.publicKey),
    atMs: clock,
    ...extra,
  };
  return { body, signed: signReceipt(body, gwKey) };
}

async function served(transferId: string, gateway: KeyPair = gwKey) {
  const row = (await knex('cp_outbox').where({ id: `srv-${toHex(gateway.publicKey)}:${transferId}` }).first()) as { payload: string; channel: string; state: string } | undefined;
  if (!row) return undefined;
  const p = JSON.parse(row.payload) as UsageRecordPayload;
  expect(row.channel).toBe('clearinghouse');
  expect(p.kind).toBe('served');
  return openServedRecord({ body: Buffer.from(p.body, 'base64'), signature: Buffer.from(p.signature, 'base64') });
}

async function serve(transferId: string, segments: number[], state: 'done' | 'cancelled' | 'failed' = 'done', gateway: KeyPair = gwKey) {
  const rec = await store.begin({ transferId, gateway: gateway.publicKey, gatewayGrid: GW_AREA, storageIndex: si });
  for (const s of segments) store.count(rec, s);
  return { rec, end: () => store.end(rec, state) };
}

for (const backend of databaseBackends('cp-store')) describe(`ServedStore on ${backend.name}`, () => {
  beforeAll(() => backend.setup(), 60_000);
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    config = await backend.fresh();
    cpKey = generateKeyPair();
    gwKey = generateKeyPair();
    clock = 1_000_000;
    queued = 0;
    await open();
  });
  afterEach(async () => {
    await knex.destroy();
  });

  it('writes the row at the start, counts live, and stores the final count at the end', async () => {
    const { rec, end } = await serve('t1', [100, 50]);
    expect(await store.transfer('t1', toHex(gwKey.publicKey))).toMatchObject({ state: 'open', bytes: 150, segments: 2 });
    expect((await knex('cp_transfers').where({ transfer_id: 't1' }).first()).state).toBe('open');
    expect(await store.byGateway()).toEqual([{ gateway: toHex(gwKey.publicKey), gatewayGrid: GW_AREA, bytes: 150, segments: 2, transfers: 1 }]);
    store.count(rec, 10);
    await end();
    expect(await store.transfer('t1')).toMatchObject({ state: 'done', bytes: 160, segments: 3, reported: false });
    expect(await store.totalBytes()).toBe(160);
  });

  it('lets exactly one of several calls at once with the same gateway and transfer id begin; the others are refused', async () => {
    // PostgreSQL runs these concurrently: the primary key lets one insert in, the rest are PreconditionError.
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => store.begin({ transferId: 't-race', gateway: gwKey.publicKey, gatewayGrid: GW_AREA, storageIndex: si })));
    const ok = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<ServedStore['begin']>>> => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionError);
    expect(await knex('cp_transfers').where({ transfer_id: 't-race' })).toHaveLength(1);
    store.count(ok[0]!.value, 100);
    await store.end(ok[0]!.value, 'done');
    expect(await store.transfer('t-race')).toMatchObject({ state: 'done', bytes: 100, segments: 1 });
  });

  it('refuses to begin a transfer id this gateway already used, whatever became of it (bad-input table)', async () => {
    const gw = toHex(gwKey.publicKey);
    await (await serve('used-swept', [10])).end();
    clock += 10;
    await store.sweepUnreceipted(0);
    await serve('used-open', [10]);
    await (await serve('used-done', [10])).end();
    await (await serve('used-cancelled', [10], 'cancelled')).end();
    await (await serve('used-receipted', [10])).end();
    const r = receipt('used-receipted', 10);
    await store.submitReceipt(r.body, r.signed);
    const ro = receipt('used-receipt-only', 10);
    await store.submitReceipt(ro.body, ro.signed);
    const cases: [string, RegExp][] = [
      ['used-open', /\(in progress\)/],
      ['used-done', /\(done\)/],
      ['used-cancelled', /\(cancelled\)/],
      ['used-receipted', /\(done, reported\)/],
      ['used-swept', /\(done, reported\)/],
      ['used-receipt-only', /\(receipt-only, reported\)/],
    ];
    for (const [id, state] of cases) {
      const again = store.begin({ transferId: id, gateway: gwKey.publicKey, gatewayGrid: GW_AREA, storageIndex: si });
      await expect(again, id).rejects.toThrow(PreconditionError);
      await expect(store.begin({ transferId: id, gateway: gwKey.publicKey, gatewayGrid: GW_AREA, storageIndex: si }), id).rejects.toThrow(
        new RegExp(`transfer id '${id}' was already used by gateway ${gw.slice(0, 16)}… ${state.source}`),
      );
    }
    // Nothing was reopened: the reported rows are as they were.
    expect(await store.transfer('used-receipted', gw)).toMatchObject({ state: 'done', bytes: 10, reported: true });
    expect(store.openTransfers()).toBe(1);
  });

  it("keeps two gateways' transfers with the same id apart: two rows, two served records, each its own count", async () => {
    const other = generateKeyPair();
    await (await serve('same-id', [100])).end();
    await (await serve('same-id', [500, 500], 'done', other)).end();
    const mine = receipt('same-id', 100);
    const theirs = (() => {
      const body: ReceiptBody = { ...receipt('same-id', 1000).body, gateway: toHex(other.publicKey), recordId: receiptRecordId(toHex(other.publicKey), 'same-id') };
      return { body, signed: signReceipt(body, other) };
    })();
    expect(await store.submitReceipt(mine.body, mine.signed)).toBe('reported');
    expect(await store.submitReceipt(theirs.body, theirs.signed)).toBe('reported');
    expect((await served('same-id'))!.served).toMatchObject({ bytes: 100, gateway: toHex(gwKey.publicKey) });
    expect((await served('same-id', other))!.served).toMatchObject({ bytes: 1000, gateway: toHex(other.publicKey) });
    expect(await knex('cp_outbox').where({ channel: 'clearinghouse' })).toHaveLength(2);
  });

  it('stores one row and one served record when the same receipt for an unknown transfer arrives on several calls at once', async () => {
    const { body, signed } = receipt('t-rrace', 300);
    const outcomes = await Promise.all([1, 2, 3].map(() => store.submitReceipt(body, signed)));
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'reported']);
    expect(await knex('cp_transfers').where({ transfer_id: 't-rrace' })).toHaveLength(1);
    // Never served here: reported with this store's count (0), so the clearinghouse disputes it.
    expect((await served('t-rrace'))?.served).toMatchObject({ bytes: 0 });
    expect((await served('t-rrace'))?.receipt?.bytes).toBe(300);
  });

  it('never drops a served record silently: an outbox row already holding its id fails the report, which stays pending', async () => {
    await (await serve('squatted', [100])).end();
    await store.outbox.add(knex, [{ id: `srv-${toHex(gwKey.publicKey)}:squatted`, channel: 'clearinghouse', payload: '{"someone":"else"}' }]);
    const r = receipt('squatted', 100);
    await expect(store.submitReceipt(r.body, r.signed)).rejects.toThrow(/the outbox already holds a different record with this id/);
    expect(await store.transfer('squatted', toHex(gwKey.publicKey))).toMatchObject({ reported: false });
    expect(await store.transfer('squatted', toHex(gwKey.publicKey))).not.toHaveProperty('receiptBytes');
  });

  it('reports the served record with the receipt when the receipt comes after the end', async () => {
    const { end } = await serve('t2', [1000, 1000]);
    await end();
    const r = receipt('t2', 2000);
    expect(await store.submitReceipt(r.body, r.signed)).toBe('reported');
    expect(queued).toBe(1);
    const s = (await served('t2'))!;
    expect(s.served).toMatchObject({ bytes: 2000, exporter: AREA, importer: GW_AREA, gateway: toHex(gwKey.publicKey), contactPoint: toHex(cpKey.publicKey) });
    expect(s.receipt?.bytes).toBe(2000);
    // The same receipt again: fine, nothing new.
    expect(await store.submitReceipt(r.body, r.signed)).toBe('duplicate');
    expect(queued).toBe(1);
  });

  it('reports at the end when the receipt came while the transfer was open', async () => {
    const { end } = await serve('t3', [500]);
    const r = receipt('t3', 500);
    expect(await store.submitReceipt(r.body, r.signed)).toBe('stored');
    expect(await served('t3')).toBeUndefined();
    await end();
    expect((await served('t3'))!.served.bytes).toBe(500);
  });

  it('reports its own count whatever the receipt says, and when the transfer began', async () => {
    const startedAt = clock;
    await (await serve('more', [300])).end();
    const more = receipt('more', 400);
    await store.submitReceipt(more.body, more.signed);
    expect((await served('more'))!.served).toMatchObject({ bytes: 300, startedAtMs: startedAt });
    await (await serve('less', [300])).end();
    const less = receipt('less', 200);
    await store.submitReceipt(less.body, less.signed);
    // v1 reported min(receipt, count) = 200 here: a short receipt lowered the bill.
    expect((await served('less'))!.served.bytes).toBe(300);
    expect((await served('less'))!.receipt?.bytes).toBe(200);
    // The receipt arriving first, then the end: the same.
    const { end } = await serve('less-first', [300]);
    const lf = receipt('less-first', 1);
    await store.submitReceipt(lf.body, lf.signed);
    await end();
    expect((await served('less-first'))!.served.bytes).toBe(300);
  });

  it('refuses a different receipt for the same transfer with ALREADY_EXISTS, and another storage index', async () => {
    await (await serve('t4', [10])).end();
    const a = receipt('t4', 10);
    await store.submitReceipt(a.body, a.signed);
    const b = receipt('t4', 5);
    await expect(store.submitReceipt(b.body, b.signed)).rejects.toThrow(AlreadyExistsError);
    await (await serve('t5', [10])).end();
    const c = receipt('t5', 10, { storageIndex: toHex(randomBytes(16)) });
    await expect(store.submitReceipt(c.body, c.signed)).rejects.toThrow(InvalidArgumentError);
    await expect(store.submitReceipt(c.body, c.signed)).rejects.toThrow(/storage index/);
  });

  it('reports without receipt after the wait, only transfers with bytes, once', async () => {
    await (await serve('late', [64])).end();
    await (await serve('empty', [])).end();
    expect(await store.sweepUnreceipted(1000)).toBe(0);
    clock += 1000;
    expect(await store.sweepUnreceipted(1000)).toBe(1);
    const s = (await served('late'))!;
    expect(s.served.bytes).toBe(64);
    expect(s.receipt).toBeNull();
    expect(await served('empty')).toBeUndefined();
    expect(await store.sweepUnreceipted(1000)).toBe(0);
    // A receipt arriving after that is kept, not reported again.
    const r = receipt('late', 64);
    expect(await store.submitReceipt(r.body, r.signed)).toBe('stored');
    expect(await store.transfer('late')).toMatchObject({ receiptBytes: 64, reported: true, reportedBytes: 64 });
  });

  it("after a restart mid-transfer, a receipt is reported with the count this store has (0), never the receipt's", async () => {
    await serve('cut', [100, 100]);
    await knex.destroy();
    await open();
    expect(await store.transfer('cut')).toMatchObject({ state: 'interrupted', bytes: 0 });
    const r = receipt('cut', 200);
    expect(await store.submitReceipt(r.body, r.signed)).toBe('reported');
    expect((await served('cut'))!.served.bytes).toBe(0);
    expect((await served('cut'))!.receipt?.bytes).toBe(200);
    // Never seen at all (e.g. the database was replaced): the same.
    const unknown = receipt('never-seen', 300);
    expect(await store.submitReceipt(unknown.body, unknown.signed)).toBe('reported');
    expect(await store.transfer('never-seen')).toMatchObject({ state: 'receipt-only', bytes: 0, receiptBytes: 300, gatewayGrid: GW_AREA });
    expect((await served('never-seen'))!.receipt?.bytes).toBe(300);
    expect((await served('never-seen'))!.served.bytes).toBe(0);
  });

  it('keeps transfers and totals across a restart', async () => {
    await (await serve('p1', [7, 8])).end();
    await knex.destroy();
    await open();
    expect(await store.transfer('p1')).toMatchObject({ bytes: 15, segments: 2, state: 'done' });
    expect(await store.totalBytes()).toBe(15);
    expect(openReceipt(receipt('p1', 15).signed).bytes).toBe(15);
  });
});
