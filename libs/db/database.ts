/**
 * knex connections for every service store. SQLite (sqlite3) is the embedded
 * default; PostgreSQL (`client: 'pg'`) runs the same code for larger operators.
 *
 * Durability: SQLite runs in WAL mode with synchronous=FULL, so a committed
 * transaction survives a process kill or power loss before we acknowledge it.
 */
import knexFactory, { type Knex } from 'knex';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UnavailableError } from '../errors/index.js';

export type DatabaseConfig =
  | { client: 'sqlite3'; filename: string }
  | { client: 'pg'; connection: string | Knex.PgConnectionConfig; searchPath?: string };

/** A migration: `up` only (forward-only, versioned by name, applied in order). */
export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
}

class ListMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: Migration[]) {}
  async getMigrations(): Promise<Migration[]> {
    return this.migrations;
  }
  getMigrationName(m: Migration): string {
    return m.name;
  }
  async getMigration(m: Migration): Promise<Knex.Migration> {
    return { up: (k) => m.up(k), down: async () => {} };
  }
}

/**
 * knex's own messages go to stderr as one line each, never to stdout (where
 * `intergrid serve` prints `listening …`) and never with a stack trace. A
 * failed connection attempt is not logged here: its error reaches the caller
 * (openDatabase's UnavailableError, or the failing query).
 */
const knexLog = (() => {
  const line = (message: unknown): void => {
    const text = String(message);
    if (text.startsWith('Acquire connection error')) return;
    process.stderr.write(`knex: ${text.split('\n')[0]}\n`);
  };
  return { warn: line, error: line, deprecate: line, debug: () => undefined };
})();

/**
 * Opens a database and applies the service's migrations (knex migrations,
 * recorded by name in `table`; each runs once, in order, under knex's lock).
 * On PostgreSQL a `searchPath` schema is created when missing.
 * @param table name of the knex migrations table (one per service, so
 *   services of different kinds may share one PostgreSQL database).
 * @throws UnavailableError naming the database (never its password) when it
 *   cannot be reached or migrated.
 */
export async function openDatabase(config: DatabaseConfig, migrations: Migration[], table: string): Promise<Knex> {
  let knex: Knex;
  if (config.client === 'sqlite3') {
    mkdirSync(dirname(config.filename), { recursive: true });
    knex = knexFactory({
      client: 'sqlite3',
      connection: { filename: config.filename },
      useNullAsDefault: true,
      log: knexLog,
      // One connection: SQLite serialises writers anyway, and one connection
      // makes transactions and pragmas predictable.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { run: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) => {
          conn.run('PRAGMA journal_mode = WAL', (e1) => {
            if (e1) return done(e1, conn);
            conn.run('PRAGMA synchronous = FULL', (e2) => {
              if (e2) return done(e2, conn);
              conn.run('PRAGMA foreign_keys = ON', (e3) => {
                if (e3) return done(e3, conn);
                conn.run('PRAGMA busy_timeout = 5000', (e4) => done(e4, conn));
              });
            });
          });
        },
      },
    });
  } else {
    knex = knexFactory({
      client: 'pg',
      connection: config.connection,
      searchPath: config.searchPath ? [config.searchPath] : undefined,
      pool: { min: 0, max: 10 },
      log: knexLog,
    });
  }
  try {
    if (config.client === 'pg' && config.searchPath) await ensureSchema(knex, config.searchPath);
    await migrateLatest(knex, migrations, table, config.client === 'pg' ? config.searchPath : undefined);
  } catch (err) {
    await knex.destroy().catch(() => undefined);
    throw new UnavailableError(`cannot open database ${describeDatabase(config)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return knex;
}

/**
 * knex.migrate.latest. On PostgreSQL, under a transaction-scoped advisory lock
 * per migrations table, so processes opening one database at once migrate one
 * after the other: knex's own lock refuses a concurrent migrator instead of
 * waiting, and two first opens can both create its lock table and insert two
 * lock rows, which leaves it locked for good. (One SQLite file belongs to one
 * process.)
 */
async function migrateLatest(knex: Knex, migrations: Migration[], table: string, searchPath: string | undefined): Promise<void> {
  const latest = async (): Promise<void> => {
    try {
      await knex.migrate.latest({ migrationSource: new ListMigrationSource(migrations), tableName: table });
    } catch (err) {
      if ((err as { name?: unknown } | null)?.name !== 'MigrationLocked') throw err;
      throw new Error(`migrations are locked in ${table}_lock: a process was killed while migrating; once none runs, set is_locked = 0 there`, { cause: err });
    }
  };
  if (!isPostgres(knex)) return latest();
  await knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`intergrid-migrations:${searchPath ?? ''}:${table}`]);
    await latest();
  });
}

/** Creates the schema `searchPath` names when it is missing (an existing one needs no CREATE right). */
async function ensureSchema(knex: Knex, schema: string): Promise<void> {
  const found = (await knex.raw('SELECT 1 FROM pg_namespace WHERE nspname = ?', [schema])) as { rows: unknown[] };
  if (found.rows.length > 0) return;
  try {
    await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  } catch (err) {
    // Another process created it between the check and here (42P06 / unique violation 23505).
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== '42P06' && code !== '23505') throw err;
  }
}

/** Where a database is, for messages: the SQLite file, or the PostgreSQL URL / host without its password. */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.client === 'sqlite3') return config.filename;
  const schema = config.searchPath ? ` (schema ${config.searchPath})` : '';
  const c = config.connection;
  if (typeof c !== 'string') return `postgres://${c.user ?? ''}${c.user ? '@' : ''}${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}${schema}`;
  try {
    const url = new URL(c);
    if (url.password) url.password = '***';
    return `${url.toString()}${schema}`;
  } catch {
    // Not a URL (a libpq key=value string): drop any password=… pair.
    return `${c.replace(/password\s*=\s*('[^']*'|\S+)/gi, 'password=***')}${schema}`;
  }
}

/**
 * Call in a transaction before an insert whose key follows from what the
 * table already holds, so concurrent writers take turns on PostgreSQL as they
 * do on SQLite (which serialises writers already). A table lock held until
 * commit; reads are not blocked. Uses: a log whose readers page by its serial
 * key (`seq > last seen`) — a sequence hands out keys at insert time, so
 * concurrent appenders could commit out of key order and a reader move past a
 * key that commits later; and "the next free code" (clearinghouse admissions).
 */
export async function lockForAppend(trx: Knex.Transaction, table: string): Promise<void> {
  if (isPostgres(trx)) await trx.raw('LOCK TABLE ?? IN SHARE ROW EXCLUSIVE MODE', [table]);
}

/** True when `knex` talks to PostgreSQL. */
export function isPostgres(knex: Knex): boolean {
  return (knex.client as { config: Knex.Config }).config.client === 'pg';
}
