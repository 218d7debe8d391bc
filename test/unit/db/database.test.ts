/**
 * libs/db openDatabase on SQLite and a real PostgreSQL: migrations are
 * versioned knex migrations (recorded by name, each applied once, a later
 * version applies only what is new; on PostgreSQL also when several
 * processes open one fresh database at once), two service instances can share one
 * PostgreSQL database in separate schemas (searchPath), and a database that
 * cannot be reached fails with a message naming it, without its password,
 * and nothing printed by knex.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase, describeDatabase, type Migration } from '../../../libs/db/index.js';
import { UnavailableError } from '../../../libs/errors/index.js';
import { freePort } from '../../../libs/net/index.js';
import { databaseBackends, appliedMigrations, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

const TABLE = 'test_service_migrations';
const v1: Migration[] = [
  {
    name: '001-items',
    up: async (k) => {
      await k.schema.createTable('t_items', (t) => {
        t.string('id', 16).primary();
        t.bigInteger('n').notNullable();
      });
    },
  },
];
const v2: Migration[] = [
  ...v1,
  {
    name: '002-items-note',
    up: async (k) => {
      await k.schema.alterTable('t_items', (t) => t.string('note', 40).nullable());
    },
  },
];

for (const backend of databaseBackends('libs-db')) {
  describe(`openDatabase on ${backend.name}`, () => {
    beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
    afterAll(() => backend.teardown());

    const withDb = async <R>(knex: Knex, fn: (k: Knex) => Promise<R>): Promise<R> => {
      try {
        return await fn(knex);
      } finally {
        await knex.destroy();
      }
    };

    it('records each migration once by name; reopening applies nothing, a new version applies only its new migration', async () => {
      const db = await backend.fresh();
      await withDb(await openDatabase(db, v1, TABLE), (k) => k('t_items').insert({ id: 'a', n: 1 }));
      await withDb(await openDatabase(db, v1, TABLE), async () => undefined);
      expect(await appliedMigrations(db, TABLE)).toEqual([{ name: '001-items', batch: 1 }]);
      const rows = await withDb(await openDatabase(db, v2, TABLE), async (k) => {
        await k('t_items').where({ id: 'a' }).update({ note: 'kept' });
        return k('t_items').select('id', 'n', 'note');
      });
      expect(rows.map((r: { id: string; n: number | string; note: string }) => ({ ...r, n: Number(r.n) }))).toEqual([{ id: 'a', n: 1, note: 'kept' }]);
      expect(await appliedMigrations(db, TABLE)).toEqual([
        { name: '001-items', batch: 1 },
        { name: '002-items-note', batch: 2 },
      ]);
    });

    if (backend.name === 'PostgreSQL') {
      it('four opens of one fresh database at once (four processes starting) apply the migrations once', async () => {
        const db = await backend.fresh();
        const opened = await Promise.all([1, 2, 3, 4].map(() => openDatabase(db, v2, TABLE)));
        for (const k of opened) await k.destroy();
        expect((await appliedMigrations(db, TABLE)).map((m) => m.name)).toEqual(['001-items', '002-items-note']);
      });

      it('keeps two instances apart in one database by schema (searchPath), creating a missing schema', async () => {
        const db = await backend.fresh();
        if (db.client !== 'pg') throw new Error('expected pg');
        const one = await openDatabase({ ...db, searchPath: 'storage_one' }, v1, TABLE);
        const two = await openDatabase({ ...db, searchPath: 'storage_two' }, v1, TABLE);
        try {
          await one('t_items').insert({ id: 'x', n: 1 });
          await two('t_items').insert({ id: 'x', n: 2 });
          expect(Number((await one('t_items').where({ id: 'x' }).first()).n)).toBe(1);
          expect(Number((await two('t_items').where({ id: 'x' }).first()).n)).toBe(2);
          const schemas = await one('information_schema.tables').where({ table_name: 't_items' }).orderBy('table_schema').pluck('table_schema');
          expect(schemas).toEqual(['storage_one', 'storage_two']);
        } finally {
          await one.destroy();
          await two.destroy();
        }
      });

      it('fails with UnavailableError naming the server, not its password, when PostgreSQL is unreachable', async () => {
        const port = await freePort();
        const out = vi.spyOn(process.stdout, 'write');
        const errOut = vi.spyOn(process.stderr, 'write');
        let err: unknown;
        try {
          err = await openDatabase({ client: 'pg', connection: `postgres://svc:s3cret-pw@127.0.0.1:${port}/grid` }, v1, TABLE).catch((e: unknown) => e);
          // knex logs nothing of its own (stdout is where `intergrid serve` prints `listening …`).
          expect(out).not.toHaveBeenCalled();
          expect(errOut).not.toHaveBeenCalled();
        } finally {
          out.mockRestore();
          errOut.mockRestore();
        }
        expect(err).toBeInstanceOf(UnavailableError);
        const message = (err as Error).message;
        expect(message).toContain(`cannot open database postgres://svc:***@127.0.0.1:${port}/grid`);
        expect(message).toContain('ECONNREFUSED');
        expect(message).not.toContain('s3cret-pw');
      });
    }
  });
}

describe('describeDatabase', () => {
  it('hides the password of a URL, a key=value string and a connection object', () => {
    expect(describeDatabase({ client: 'pg', connection: 'postgres://u:pw@h:5433/d', searchPath: 's' })).toBe('postgres://u:***@h:5433/d (schema s)');
    expect(describeDatabase({ client: 'pg', connection: 'host=h user=u password=pw dbname=d' })).toBe('host=h user=u password=*** dbname=d');
    expect(describeDatabase({ client: 'pg', connection: { host: 'h', user: 'u', password: 'pw', database: 'd' } })).toBe('postgres://u@h:5432/d');
    expect(describeDatabase({ client: 'sqlite3', filename: '/x/y.sqlite' })).toBe('/x/y.sqlite');
  });
});
