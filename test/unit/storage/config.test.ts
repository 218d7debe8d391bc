/** Storage config loading: defaults, relative paths, clear errors. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStorageConfig, resolveStorageConfig } from '../../../services/storage/index.js';
import { ConfigError } from '../../../libs/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'intergrid-storage-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// loadStorageConfig checks that the key and certificate files are readable.
for (const f of ['key.json', 'certificate.b64']) writeFileSync(join(dir, f), '');

const base = {
  listen: '127.0.0.1:0',
  dataDir: './data',
  gridManager: { address: '127.0.0.1:7000', publicKey: 'ab'.repeat(32) },
  keyFile: './key.json',
  certificateFile: './certificate.b64',
};

function write(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

describe('storage config', () => {
  it('resolves paths against the config file and puts the database in the data dir', () => {
    const c = loadStorageConfig(write('a.json', base));
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.keyFile).toBe(join(dir, 'key.json'));
    expect(c.database).toEqual({ client: 'sqlite3', filename: join(dir, 'data', 'storage.sqlite') });
  });

  it('defaults the lease to 31 days', () => {
    expect(loadStorageConfig(write('b.json', base)).leaseDurationMs).toBe(31 * 24 * 3600 * 1000);
  });

  it('names the offending field', () => {
    expect(() => loadStorageConfig(write('c.json', { ...base, leaseDurationMs: -1 }))).toThrow(/leaseDurationMs/);
  });

  it('rejects unknown fields', () => {
    expect(() => loadStorageConfig(write('d.json', { ...base, leaseDays: 3 }))).toThrow(/leaseDays/);
  });

  it('throws ConfigError for an in-memory config with a bad key', () => {
    expect(() => resolveStorageConfig({ ...base, gridManager: { address: 'x:1', publicKey: 'zz' } })).toThrow(ConfigError);
  });

  it('suggests the closest field name for a typo', () => {
    const path = write('typo.json', { ...base, leaseDuratonMs: 5 });
    expect(() => loadStorageConfig(path)).toThrow(`config ${path}: unknown field 'leaseDuratonMs' (did you mean 'leaseDurationMs'?)`);
  });

  it('names the config field of a missing key or certificate file', () => {
    const path = write('nokey.json', { ...base, keyFile: './missing-key.json' });
    expect(() => loadStorageConfig(path)).toThrow(`config ${path}: keyFile: cannot read ${join(dir, 'missing-key.json')} (no such file)`);
    const cert = write('nocert.json', { ...base, certificateFile: 'nope.b64' });
    expect(() => loadStorageConfig(cert)).toThrow(/certificateFile: cannot read .*nope\.b64/);
  });

  describe('environment overrides', () => {
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (k.startsWith('INTERGRID_')) delete process.env[k];
    });

    it('INTERGRID_<FIELD> and INTERGRID_<SECTION>__<FIELD> override the file', () => {
      process.env.INTERGRID_LISTEN = '0.0.0.0:7000';
      process.env.INTERGRID_LEASE_DURATION_MS = '60000';
      process.env.INTERGRID_GRID_MANAGER__ADDRESS = 'gm.example:7001';
      process.env.INTERGRID_DATABASE__CLIENT = 'pg';
      process.env.INTERGRID_DATABASE__CONNECTION = 'postgres://u@h/db';
      process.env.INTERGRID_NOT_A_STORAGE_FIELD = 'ignored';
      const c = loadStorageConfig(write('env.json', base));
      expect(c.listen).toBe('0.0.0.0:7000');
      expect(c.leaseDurationMs).toBe(60_000);
      expect(c.gridManager.address).toBe('gm.example:7001');
      expect(c.database).toEqual({ client: 'pg', connection: 'postgres://u@h/db' });
    });

    it('a bad value names the field and the variable', () => {
      process.env.INTERGRID_LEASE_DURATION_MS = 'soon';
      const path = write('env-bad.json', base);
      expect(() => loadStorageConfig(path)).toThrow(
        `config ${path}: leaseDurationMs: Invalid input: expected number, received string (from environment variable INTERGRID_LEASE_DURATION_MS)`,
      );
    });
  });
});
