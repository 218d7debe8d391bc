/** Storage config loading: defaults, relative paths, clear errors. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStorageConfig, resolveStorageConfig } from '../../../services/storage/index.js';
import { ConfigError } from '../../../libs/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'intergrid-storage-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
});
