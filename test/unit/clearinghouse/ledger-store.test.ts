/**
 * LedgerStore and PeriodStore contract on SQLite and PostgreSQL: records,
 * matching, postings, disputes, periods and statements, with integers past
 * 2^32 read back exactly.
 */
import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { costOf, openStatement, type GridStatementBody, type SummaryBody } from '../../../libs/ledger/index.js';
import { AlreadyExistsError, NotFoundError, PreconditionError } from '../../../libs/errors/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { GridStore } from '../../../services/clearinghouse/grid-store.js';
import { toTransferRow } from '../../../services/clearinghouse/ledger-rows.js';
import { LedgerStore, type IngestRecord } from '../../../services/clearinghouse/ledger-store.js';
import { PeriodStore } from '../../../services/clearinghouse/period-store.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const T0 = 1_764_000_000_000;
const GW = toHex(generateKeyPair().publicKey);
const CP = toHex(generateKeyPair().publicKey);
const chKey = generateKeyPair();

function rec(kind: 'served' | 'receipt', transferId: string, bytes: number, over: Partial<IngestRecord> = {}): IngestRecord {
  const base: IngestRecord = {
    kind,
    recordId: `${kind === 'served' ? 'srv-' : 'rcpt-'}${transferId}`,
    transferId,
    // The store treats the key as opaque; the bare id keeps the expectations below short.
    transferKey: transferId,
    signer: kind === 'served' ? CP : GW,
    exporter: '101',
    importer: '102',
    gateway: GW,
    contactPoint: CP,
    storageIndex: '00112233445566778899aabbccddeeff',
    bytes,
    atMs: T0 + 10,
    receiptSha256: `sha-${transferId}`,
    body: new TextEncoder().encode(`${kind}:${transferId}:${bytes}`),
    signature: new TextEncoder().encode(`sig:${kind}:${transferId}:${bytes}`),
    reporterKey: kind === 'served' ? CP : GW,
  };
  if (kind === 'receipt') Object.assign(base, { priceUnitsPerGib: 1000, priceAsOfMs: T0 + 5 });
  else base.embedded = { gateway: GW, importer: '102', atMs: T0 + 10, bytes, priceAsOfMs: T0 + 5 };
  return { ...base, ...over };
}

for (const backend of databaseBackends('ch-ledger')) {
  describe(`clearinghouse LedgerStore on ${backend.name}`, () => {
    let knex: Knex;
    let ledger: LedgerStore;
    let periods: PeriodStore;

    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());

    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
      const grids = await GridStore.open(knex);
      for (const [code, price] of [['101', 1000], ['102', 2000], ['103', 3000]] as const) {
        await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: `g${code}`, areaCode: code, priceUnitsPerGib: price }, 101, T0);
      }
      ledger = await LedgerStore.open(knex);
      periods = new PeriodStore(ledger, chKey);
    });

    afterEach(async () => {
      await knex.destroy();
    });

    it('posts two postings summing to zero when both sides agree; big integers come back exact', async () => {
      const bytes = 2 ** 45 + 7; // past 2^32, well below 2^53
      expect(await ledger.ingest([rec('receipt', 't1', bytes)], T0 + 20)).toEqual([{ outcome: 'ACCEPTED' }]);
      expect((await ledger.snapshot()).pendingRecords).toBe(1);
      expect(await ledger.ingest([rec('served', 't1', bytes)], T0 + 30)).toEqual([{ outcome: 'ACCEPTED' }]);
      const rows = (await knex('ch_postings').orderBy('role')) as Record<string, unknown>[];
      expect(rows.map((r) => [r.role, Number(r.amount_units), Number(r.bytes), Number(r.at_ms)])).toEqual([
        ['exporter', costOf(bytes, 1000), bytes, T0 + 30],
        ['importer', -costOf(bytes, 1000), bytes, T0 + 30],
      ]);
      const s = await ledger.snapshot();
      expect(s.pairs).toEqual([{ exporter: '101', importer: '102', bytes, units: costOf(bytes, 1000), transfers: 1 }]);
      expect(s).toMatchObject({ pendingRecords: 0, openDisputes: 0, records: 2 });
      const t = (await knex('ch_transfers').where({ transfer_id: 't1' }).first()) as Record<string, unknown>;
      expect([t.state, Number(t.transfer_at_ms), Number(t.posted_at_ms), Number(t.price_as_of_ms)]).toEqual(['posted', T0 + 10, T0 + 30, T0 + 5]);
    });

    it('completes a stored transfer from either side in a later batch, writing every column the second side brings', async () => {
      await ledger.ingest([rec('served', 'late-r', 100), rec('receipt', 'late-s', 100)], T0 + 20);
      const out = await ledger.ingest([rec('receipt', 'late-r', 90, { atMs: T0 + 12 }), rec('served', 'late-s', 100)], T0 + 30);
      expect(out.map((o) => o.outcome)).toEqual(['ACCEPTED', 'ACCEPTED']);
      const rows = (await knex('ch_transfers').whereIn('transfer_id', ['late-r', 'late-s']).orderBy('transfer_id')) as Record<string, unknown>[];
      const t = rows.map(toTransferRow);
      expect(t[0]).toMatchObject({ state: 'disputed', served_bytes: 100, receipt_bytes: 90, receipt_sha256: 'sha-late-r', receipt_price_units_per_gib: 1000, receipt_price_as_of_ms: T0 + 5, transfer_at_ms: T0 + 12, price_units_per_gib: 1000, first_seen_ms: T0 + 20 });
      expect(t[1]).toMatchObject({ state: 'posted', served_bytes: 100, served_receipt_sha256: 'sha-late-s', served_price_as_of_ms: T0 + 5, receipt_bytes: 100, posted_at_ms: T0 + 30, price_as_of_ms: T0 + 5, first_seen_ms: T0 + 20 });
      expect((await ledger.listDisputes(false)).map((d) => [d.transfer_id, d.reason])).toEqual([['late-r', 'bytes-mismatch']]);
    });

    it('matches both sides arriving in one batch; answers DUPLICATE for the same record and REJECTED for a different one with the same id', async () => {
      const out = await ledger.ingest([rec('receipt', 't2', 10), rec('served', 't2', 10), rec('served', 't2', 10)], T0 + 20);
      expect(out.map((o) => o.outcome)).toEqual(['ACCEPTED', 'ACCEPTED', 'DUPLICATE']);
      expect((await ledger.ingest([rec('served', 't2', 10)], T0 + 21))[0]).toEqual({ outcome: 'DUPLICATE' });
      const other = await ledger.ingest([rec('served', 't2', 11)], T0 + 22);
      expect(other[0]).toMatchObject({ outcome: 'REJECTED' });
      expect((await knex('ch_postings').count({ n: '*' }).first())!.n).toEqual(expect.anything());
      expect(Number((await knex('ch_postings').count({ n: '*' }).first())!.n)).toBe(2);
    });

    it('disputes an over-report, resolves it once, and rejects unknown ids', async () => {
      await ledger.ingest([rec('receipt', 't3', 100), rec('served', 't3', 150)], T0 + 20);
      const [d] = await ledger.listDisputes(false);
      expect(d).toMatchObject({ reason: 'bytes-mismatch', served_bytes: 150, receipt_bytes: 100, price_units_per_gib: 1000, state: 'open' });
      const r = await ledger.resolveDispute(d!.id, 'accept-served', 'ok', T0 + 40);
      expect(r).toMatchObject({ state: 'resolved', resolution: 'accept-served', posted_units: 1 });
      await expect(ledger.resolveDispute(d!.id, 'void', '', T0 + 41)).rejects.toThrow(PreconditionError);
      await expect(ledger.resolveDispute(999, 'void', '', T0 + 41)).rejects.toThrow(NotFoundError);
    });

    it('disputes records naming different parties (transfer-mismatch) and a receipt that is not the embedded one (missing-receipt)', async () => {
      await ledger.ingest([rec('receipt', 't4', 100), rec('served', 't4', 100, { importer: '103' })], T0 + 20);
      await ledger.ingest([rec('receipt', 't5', 100), rec('served', 't5', 100, { receiptSha256: 'other' })], T0 + 20);
      expect((await ledger.listDisputes(false)).map((d) => [d.transfer_id, d.reason])).toEqual([
        ['t4', 'transfer-mismatch'],
        ['t5', 'missing-receipt'],
      ]);
    });

    it('closes periods: postings assigned once, statements signed and balanced, missing sides disputed after the grace', async () => {
      await ledger.ingest([rec('receipt', 'a', 1 << 20), rec('served', 'a', 1 << 20)], T0 + 20);
      await ledger.ingest([rec('receipt', 'b', 5000, { exporter: '102', importer: '101', priceUnitsPerGib: 2000 }), rec('served', 'b', 5000, { exporter: '102', importer: '101' })], T0 + 21);
      await ledger.ingest([rec('receipt', 'lonely', 77)], T0 + 22);
      const p1 = await periods.close(undefined, T0 + 100, 50);
      expect(p1).toMatchObject({ id: '1', from_ms: 0, to_ms: T0 + 100, grids: 2, transfers: 2 });
      expect((await ledger.listDisputes(false)).map((d) => [d.transfer_id, d.reason])).toEqual([['lonely', 'missing-side']]);
      const st = await periods.statements(undefined);
      const summary = openStatement(st.summary, chKey.publicKey) as SummaryBody;
      expect(summary.balances).toEqual([
        { areaCode: '101', netUnits: costOf(1 << 20, 1000) - costOf(5000, 2000) },
        { areaCode: '102', netUnits: costOf(5000, 2000) - costOf(1 << 20, 1000) },
      ]);
      const only = await periods.statements('1', '102');
      expect(only.statements.map((s) => (openStatement(s, chKey.publicKey) as GridStatementBody).areaCode)).toEqual(['102']);
      // A posting made after the close lands in the next period, never before its start.
      await ledger.ingest([rec('receipt', 'c', 9), rec('served', 'c', 9)], T0 + 50);
      const posted = (await knex('ch_postings').where({ transfer_id: 'c' }).first()) as Record<string, unknown>;
      expect(Number(posted.at_ms)).toBe(T0 + 100);
      const p2 = await periods.close('next', T0 + 200, 50);
      expect(p2).toMatchObject({ id: 'next', from_ms: T0 + 100, to_ms: T0 + 200, transfers: 1 });
      await expect(periods.close('next', T0 + 300, 50)).rejects.toThrow(AlreadyExistsError);
      expect((await periods.close(undefined, T0 + 300, 50)).id).toBe('3');
      await expect(periods.statements('nope')).rejects.toThrow(NotFoundError);
      // Reopening keeps the open period's start.
      expect((await LedgerStore.open(knex)).openFromMs).toBe(T0 + 300);
    });

    it('takes a full batch of 1000 records (past SQLite\'s 500-term compound select) in one call', async () => {
      const batch: IngestRecord[] = [];
      for (let i = 0; i < 500; i++) batch.push(rec('receipt', `big-${i}`, i + 1), rec('served', `big-${i}`, i + 1));
      const out = await ledger.ingest(batch, T0 + 20);
      expect(out.every((o) => o.outcome === 'ACCEPTED')).toBe(true);
      const s = await ledger.snapshot();
      expect(s.pairs).toEqual([{ exporter: '101', importer: '102', bytes: (500 * 501) / 2, units: 500, transfers: 500 }]);
      expect((await ledger.ingest(batch, T0 + 30)).every((o) => o.outcome === 'DUPLICATE')).toBe(true);
    });

    it('remembers gateway approvals across reopen', async () => {
      await ledger.recordApproval(GW, '102', T0, T0 + 1000, T0);
      expect(ledger.isApproved(GW, '102', T0 + 500)).toBe(true);
      expect(ledger.isApproved(GW, '103', T0 + 500)).toBe(false);
      expect(ledger.isApproved(GW, '102', T0 + 1001)).toBe(false);
      expect(ledger.isApproved(GW, '102', T0 + 1001, 10)).toBe(true);
      const again = await LedgerStore.open(knex);
      expect(again.isApproved(GW, '102', T0 + 999)).toBe(true);
    });
  });
}
