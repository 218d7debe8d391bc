/**
 * A throwaway PostgreSQL server for store contract tests (STYLE.md §10: the
 * store suites run unchanged on SQLite and PostgreSQL). Started with initdb +
 * pg_ctl under a temp dir on a free loopback port when those binaries are on
 * PATH; otherwise `startPostgres` returns undefined and the PG suite skips.
 * PostgreSQL refuses to run as root, so as root it runs as `nobody`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../../libs/net/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import type { DatabaseConfig } from '../../../libs/db/index.js';

export interface TestPostgres {
  /** A fresh, empty database on the server. */
  createDatabase(): Promise<DatabaseConfig>;
  stop(): Promise<void>;
}

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}


export async function startPostgres(): Promise<TestPostgres | undefined> {
  if (!onPath('initdb') || !onPath('pg_ctl')) return undefined;
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !onPath('runuser')) return undefined;
  const run = (bin: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'nobody', '--', bin, ...args], { stdio: 'pipe' }) : execFileSync(bin, args, { stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'gm-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  run('pg_ctl', ['-D', data, '-o', `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', 'start']);
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const admin = knexFactory({ client: 'pg', connection: `${base}/postgres`, pool: { min: 0, max: 1 } });
  let n = 0;
  return {
    async createDatabase() {
      const name = `gm_test_${process.pid}_${++n}`;
      await admin.raw(`CREATE DATABASE ${name}`);
      return { client: 'pg', connection: `${base}/${name}` };
    },
    async stop() {
      await admin.destroy();
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
