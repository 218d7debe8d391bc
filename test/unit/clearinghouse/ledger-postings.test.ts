/**
 * The SQL posting fast path (ledger-rows.ts insertTransferPostings: the two
 * postings of a transfer derived in SQL from one tuple) writes exactly the
 * rows libs/ledger postingsForTransfer defines, on SQLite and PostgreSQL —
 * so the one posting rule has one definition and the fast path is pinned to
 * it: the exporter +cost, the importer 0 − cost (0, not −0, for a free
 * transfer), bytes, price and time on both, integers past 2^32 exact, and
 * the same across a statement-chunk boundary.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { costOf, postingsForTransfer, type Posting, type Transfer } from '../../../libs/ledger/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../../../services/clearinghouse/migrations.js';
import { GridStore } from '../../../services/clearinghouse/grid-store.js';
import { insertTransferPostings, toPosting, type PostedTransfer } from '../../../services/clearinghouse/ledger-rows.js';
import { LEDGER_TABLES as T } from '../../../services/clearinghouse/ledger-schema.js';
import { LedgerStore, type IngestRecord } from '../../../services/clearinghouse/ledger-store.js';
import { BACKEND_SETUP_MS, databaseBackends } from '../../fixtures/database-backends.js';

const T0 = 1_764_000_000_000;

/** Transfers covering the arithmetic edges: free, 1 byte, exactly 1 GiB, past 2^32 bytes, a large price. */
const EDGES: Omit<Transfer, 'atMs'>[] = [
  { transferId: 'free', exporter: '101', importer: '102', bytes: 12_345, priceUnitsPerGib: 0 },
  { transferId: 'one-byte', exporter: '102', importer: '101', bytes: 1, priceUnitsPerGib: 5 },
  { transferId: 'one-gib', exporter: '101', importer: '103', bytes: 2 ** 30, priceUnitsPerGib: 5 },
  { transferId: 'big', exporter: '103', importer: '101', bytes: 2 ** 45 + 7, priceUnitsPerGib: 1000 },
  { transferId: 'pricey', exporter: '102', importer: '103', bytes: 2 ** 40 + 1, priceUnitsPerGib: 2 ** 31 + 3 },
];

const posted = (t: Omit<Transfer, 'atMs'>): PostedTransfer => ({ ...t, amountUnits: costOf(t.bytes, t.priceUnitsPerGib) });
const expected = (ts: Omit<Transfer, 'atMs'>[], atMs: number): Posting[] => sorted(ts.flatMap((t) => postingsForTransfer({ ...t, atMs })));
const sorted = (ps: Posting[]): Posting[] => [...ps].sort((a, b) => (a.transferId < b.transferId ? -1 : a.transferId > b.transferId ? 1 : a.role < b.role ? -1 : 1));
const stored = async (knex: Knex): Promise<Posting[]> => sorted(((await knex(T.postings).select('*')) as Record<string, unknown>[]).map(toPosting));

for (const backend of databaseBackends('ch-postings')) {
  describe(`SQL postings equal postingsForTransfer on ${backend.name}`, () => {
    let knex: Knex;

    beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
    });
    afterEach(async () => {
      await knex.destroy();
    });

    it('insertTransferPostings writes the rows of postingsForTransfer for the edge transfers', async () => {
      await knex.transaction((trx) => insertTransferPostings(trx, EDGES.map(posted), T0 + 30));
      const rows = await stored(knex);
      expect(rows).toEqual(expected(EDGES, T0 + 30));
      // toEqual would let a −0 through; the free transfer's importer row is a true 0.
      expect(Object.is(rows.find((p) => p.transferId === 'free' && p.role === 'importer')!.amountUnits, 0)).toBe(true);
    });

    it('writes the same rows across a statement-chunk boundary (5 001 transfers in one call)', async () => {
      const many = Array.from({ length: 5_001 }, (_, i) => ({
        transferId: `t${String(i).padStart(5, '0')}`,
        exporter: ['101', '102', '103'][i % 3]!,
        importer: ['102', '103', '101'][i % 3]!,
        bytes: 1 + i * 977,
        priceUnitsPerGib: i % 11,
      }));
      await knex.transaction((trx) => insertTransferPostings(trx, many.map(posted), T0 + 40));
      expect(await stored(knex)).toEqual(expected(many, T0 + 40));
    });

    it('ingest posts matched reports as postingsForTransfer at the exporter price and the posting time', async () => {
      const grids = await GridStore.open(knex);
      for (const [code, price] of [['101', 1000], ['102', 0], ['103', 2 ** 31 + 3]] as const) {
        await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: `g${code}`, areaCode: code, priceUnitsPerGib: price }, 101, T0);
      }
      const ledger = await LedgerStore.open(knex);
      const gw = toHex(generateKeyPair().publicKey);
      const cp = toHex(generateKeyPair().publicKey);
      const pairs: [string, string, string, number][] = [
        ['a', '101', '102', 2 ** 45 + 7],
        ['b', '102', '103', 12_345],
        ['c', '103', '101', 2 ** 40 + 1],
        ['d', '101', '103', 1],
      ];
      const records: IngestRecord[] = pairs.flatMap(([id, exporter, importer, bytes]) => {
        const price = exporter === '101' ? 1000 : exporter === '102' ? 0 : 2 ** 31 + 3;
        const common = { transferId: id, transferKey: id, exporter, importer, gateway: gw, contactPoint: cp, storageIndex: '00'.repeat(16), bytes, atMs: T0 + 10, receiptSha256: `sha-${id}` };
        const body = (k: string): Uint8Array => new TextEncoder().encode(`${k}:${id}`);
        return [
          { ...common, kind: 'receipt', recordId: `r-${id}`, signer: gw, reporterKey: gw, priceUnitsPerGib: price, priceAsOfMs: T0 + 5, body: body('r'), signature: body('sr') },
          { ...common, kind: 'served', recordId: `s-${id}`, signer: cp, reporterKey: cp, embedded: { gateway: gw, importer, atMs: T0 + 10, bytes, priceAsOfMs: T0 + 5 }, body: body('s'), signature: body('ss') },
        ] satisfies IngestRecord[];
      });
      expect((await ledger.ingest(records, T0 + 30)).every((o) => o.outcome === 'ACCEPTED')).toBe(true);
      expect((await ledger.listDisputes(true)).length).toBe(0);
      const want = pairs.map(([transferId, exporter, importer, bytes]) => ({
        transferId,
        exporter,
        importer,
        bytes,
        priceUnitsPerGib: exporter === '101' ? 1000 : exporter === '102' ? 0 : 2 ** 31 + 3,
      }));
      expect(await stored(knex)).toEqual(expected(want, ledger.postingTime(T0 + 30)));
    });
  });
}
