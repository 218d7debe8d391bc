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
import { AlreadyExistsError, InvalidArgumentError } from '../../../libs/errors/index.js';
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
    version: 1,
    recordId: receiptRecordId(transferId),
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

async function served(transferId: string) {
  const row = (await knex('cp_outbox').where({ id: `srv-${transferId}` }).first()) as { payload: string; channel: string; state: string } | undefined;
  if (!row) return undefined;
  const p = JSON.parse(row.payload) as UsageRecordPayload;
  expect(row.channel).toBe('clearinghouse');
  expect(p.kind).toBe('served');
  return openServedRecord({ body: Buffer.from(p.body, 'base64'), signature: Buffer.from(p.signature, 'base64') });
}

async function serve(transferId: string, segments: number[], state: 'done' | 'cancelled' | 'failed' = 'done') {
  const rec = await store.begin({ transferId, gateway: gwKey.publicKey, gatewayGrid: GW_AREA, storageIndex: si });
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

  it('opens one row when the same gateway starts the same transfer id on several calls at once', async () => {
    // PostgreSQL runs these transactions concurrently: a read-then-insert would fail the later ones on the primary key.
    const recs = await Promise.all([1, 2, 3, 4].map(() => store.begin({ transferId: 't-race', gateway: gwKey.publicKey, gatewayGrid: GW_AREA, storageIndex: si })));
    expect(recs.map((r) => r.state)).toEqual(['open', 'open', 'open', 'open']);
    const rows = await knex('cp_transfers').where({ transfer_id: 't-race' });
    expect(rows).toHaveLength(1);
    store.count(recs[3]!, 100);
    await store.end(recs[3]!, 'done');
    expect(await store.transfer('t-race')).toMatchObject({ state: 'done', bytes: 100, segments: 1 });
  });

  it('stores one row and one served record when the same receipt for an unknown transfer arrives on several calls at once', async () => {
    const { body, signed } = receipt('t-rrace', 300);
    const outcomes = await Promise.all([1, 2, 3].map(() => store.submitReceipt(body, signed)));
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'reported']);
    expect(await knex('cp_transfers').where({ transfer_id: 't-rrace' })).toHaveLength(1);
    expect((await served('t-rrace'))?.served.bytes).toBe(300);
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

  it('claims its own count when the receipt says more, and the receipt when it says less', async () => {
    await (await serve('more', [300])).end();
    const more = receipt('more', 400);
    await store.submitReceipt(more.body, more.signed);
    expect((await served('more'))!.served.bytes).toBe(300);
    await (await serve('less', [300])).end();
    const less = receipt('less', 200);
    await store.submitReceipt(less.body, less.signed);
    expect((await served('less'))!.served.bytes).toBe(200);
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

  it('after a restart mid-transfer, a receipt makes the row and its bytes are reported', async () => {
    await serve('cut', [100, 100]);
    await knex.destroy();
    await open();
    expect(await store.transfer('cut')).toMatchObject({ state: 'interrupted', bytes: 0 });
    const r = receipt('cut', 200);
    expect(await store.submitReceipt(r.body, r.signed)).toBe('reported');
    expect((await served('cut'))!.served.bytes).toBe(200);
    // Never seen at all (e.g. the database was replaced): the same.
    const unknown = receipt('never-seen', 300);
    expect(await store.submitReceipt(unknown.body, unknown.signed)).toBe('reported');
    expect(await store.transfer('never-seen')).toMatchObject({ state: 'receipt-only', bytes: 300, gatewayGrid: GW_AREA });
    expect((await served('never-seen'))!.receipt?.bytes).toBe(300);
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
