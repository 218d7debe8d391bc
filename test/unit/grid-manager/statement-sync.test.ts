import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import type { SignedDocument } from '../../../libs/auth/index.js';
import { generateKeyPair, type KeyPair } from '../../../libs/crypto/index.js';
import { openDatabase } from '../../../libs/db/index.js';
import { buildStatements, postingsForTransfer, signStatement, openStatement } from '../../../libs/ledger/index.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from '../../../services/grid-manager/migrations.js';
import { StatementStore } from '../../../services/grid-manager/statement-store.js';
import { syncStatements, type StatementSource } from '../../../services/grid-manager/statement-sync.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

const GIB = 2 ** 30;
const period = { id: '1', fromMs: 0, toMs: 10_000 };

/** A closed period among 101, 102, 103 with traffic in every direction, signed by `key`. */
function closedPeriod(key: KeyPair, id = '1') {
  const p = { ...period, id };
  const postings = [
    ['101', '102', 3 * GIB, 5],
    ['102', '101', GIB, 7],
    ['103', '101', 2 * GIB, 4],
    ['102', '103', GIB / 2, 10],
  ].flatMap(([exporter, importer, bytes, price], i) =>
    postingsForTransfer({ transferId: `t${i}`, exporter: String(exporter), importer: String(importer), bytes: Number(bytes), priceUnitsPerGib: Number(price), atMs: 100 + i }),
  );
  const built = buildStatements(p, postings);
  return {
    summary: signStatement(built.summary, key),
    statements: new Map(built.statements.map((s) => [s.areaCode, signStatement(s, key)])),
  };
}

function source(periods: Record<string, ReturnType<typeof closedPeriod>>, areaCode: string, tamper?: (s: SignedDocument) => SignedDocument): StatementSource {
  return {
    listPeriods: async () => Object.keys(periods).map((id) => ({ id })),
    getStatements: async (id) => {
      const p = periods[id]!;
      const own = p.statements.get(areaCode);
      return { summary: p.summary, statements: own ? [tamper ? tamper(own) : own] : [] };
    },
  };
}

for (const backend of databaseBackends('gm-statements')) describe(`grid manager statement sync on ${backend.name}`, () => {
  let knex: Knex;
  let store: StatementStore;
  const ch = generateKeyPair();

  beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    knex = await openDatabase(await backend.fresh(), gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
    store = new StatementStore(knex);
  });
  afterEach(async () => {
    await knex.destroy();
  });

  it('stores its own verified statement once, with the net the summary gives', async () => {
    const periods = { '1': closedPeriod(ch) };
    const deps = { areaCode: '101', clearinghousePublicKey: ch.publicKey, source: source(periods, '101'), store, now: () => 42 };
    expect(await syncStatements(deps)).toEqual({ stored: ['1'], refused: [] });
    expect(await syncStatements(deps)).toEqual({ stored: [], refused: [] });
    const [row] = await store.list();
    // 101 exported 3 GiB at 5 (+15), imported 1 GiB at 7 (−7) and 2 GiB at 4 (−8): net 0.
    const st = openStatement({ body: row!.body, signature: row!.signature }, ch.publicKey);
    expect(st.kind === 'grid' && st.lines.map((l) => [l.counterpart, l.netUnits])).toEqual([
      ['102', 8],
      ['103', -8],
    ]);
    expect(row).toMatchObject({ periodId: '1', netUnits: 0, fetchedAtMs: 42, periodToMs: 10_000 });
    const net103 = await syncStatements({ ...deps, areaCode: '103', source: source(periods, '103') });
    expect(net103.stored).toEqual([]); // same store: period 1 already there
  });

  it('refuses a statement signed by another key (forged), stores nothing', async () => {
    const forger = generateKeyPair();
    const periods = { '1': closedPeriod(forger) };
    const result = await syncStatements({ areaCode: '102', clearinghousePublicKey: ch.publicKey, source: source(periods, '102'), store, now: Date.now });
    expect(result.stored).toEqual([]);
    expect(result.refused).toHaveLength(1);
    expect(result.refused[0]!.reason).toMatch(/signature by .* does not verify/);
    expect(await store.list()).toEqual([]);
  });

  it('refuses a tampered statement whose summary is genuine', async () => {
    const periods = { '1': closedPeriod(ch) };
    const tamper = (s: SignedDocument): SignedDocument => {
      const original = new TextDecoder().decode(s.body);
      const text = original.replace(/"bytesExported":(\d+)/, (_m, n: string) => `"bytesExported":${Number(n) + 1}`);
      expect(text).not.toBe(original);
      return { body: new TextEncoder().encode(text), signature: s.signature };
    };
    const result = await syncStatements({ areaCode: '102', clearinghousePublicKey: ch.publicKey, source: source(periods, '102', tamper), store, now: Date.now });
    expect(result.refused[0]?.reason).toMatch(/does not verify/);
    expect(await store.list()).toEqual([]);
  });

  it('refuses another grid’s statement handed out as its own, and a summary of another period', async () => {
    const periods = { '1': closedPeriod(ch), '2': closedPeriod(ch, '2') };
    const swapped: StatementSource = {
      listPeriods: async () => [{ id: '1' }, { id: '2' }],
      getStatements: async (id) =>
        id === '1'
          ? { summary: periods['1'].summary, statements: [periods['1'].statements.get('103')!] }
          : { summary: periods['1'].summary, statements: [periods['2'].statements.get('102')!] },
    };
    const result = await syncStatements({ areaCode: '102', clearinghousePublicKey: ch.publicKey, source: swapped, store, now: Date.now });
    // Period 1: no statement for 102 while the summary gives it a balance → net mismatch; period 2: summary of period 1.
    expect(result.refused.map((r) => r.periodId)).toEqual(['1', '2']);
    expect(result.refused[0]!.reason).toMatch(/net 0 units differs from the summary's/);
    expect(result.refused[1]!.reason).toMatch(/summary is for period '1'/);
  });

  it('a grid without traffic in a period stores net 0 and an empty statement', async () => {
    const periods = { '1': closedPeriod(ch) };
    const result = await syncStatements({ areaCode: '104', clearinghousePublicKey: ch.publicKey, source: source(periods, '104'), store, now: Date.now });
    expect(result.stored).toEqual(['1']);
    const [row] = await store.list();
    expect(row!.netUnits).toBe(0);
    expect(row!.body.length).toBe(0);
  });
});
