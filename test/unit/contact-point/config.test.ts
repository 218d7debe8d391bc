import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContactPointConfig, resolveContactPointConfig, writeContactPointConfig } from '../../../services/contact-point/index.js';
import { ConfigError } from '../../../libs/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// loadContactPointConfig checks that the key and certificate files are readable.
for (const f of ['key.json', 'certificate.b64']) writeFileSync(join(dir, f), '');

const key = 'ab'.repeat(32);
const base = {
  listen: '127.0.0.1:0',
  areaCode: '101',
  dataDir: 'data',
  keyFile: 'key.json',
  certificateFile: 'certificate.b64',
  gridManager: { address: '127.0.0.1:7000', publicKey: key },
  clearinghouse: { address: '127.0.0.1:7100', publicKey: key },
};

describe('contact point config', () => {
  it('fills in the defaults', () => {
    const c = resolveContactPointConfig(base);
    expect(c).toMatchObject({ registerIntervalMs: 60_000, directoryRefreshMs: 60_000, maxClockSkewMs: 60_000, maxConcurrentFetches: 64 });
    expect(c.advertiseAddress).toBeUndefined();
    expect(c.receiptWaitMs).toBe(120_000);
    expect(c.database).toEqual({ client: 'sqlite3', filename: join('data', 'contact-point.sqlite') });
  });

  it('resolves key and certificate paths against the config file', () => {
    const path = join(dir, 'contact-point.json');
    writeFileSync(path, JSON.stringify(base));
    const c = loadContactPointConfig(path);
    expect(c.keyFile).toBe(join(dir, 'key.json'));
    expect(c.certificateFile).toBe(join(dir, 'certificate.b64'));
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.database).toEqual({ client: 'sqlite3', filename: join(dir, 'data', 'contact-point.sqlite') });
  });

  it('rejects an unknown field with a ConfigError naming it', () => {
    expect(() => resolveContactPointConfig({ ...base, colour: 'red' } as typeof base)).toThrow(ConfigError);
    expect(() => resolveContactPointConfig({ ...base, colour: 'red' } as typeof base)).toThrow(/colour/);
  });

  it('rejects a bad clearinghouse key with a ConfigError naming the field', () => {
    expect(() => resolveContactPointConfig({ ...base, clearinghouse: { ...base.clearinghouse, publicKey: 'xyz' } })).toThrow(/clearinghouse\.publicKey/);
  });

  it('requires dataDir, naming the field', () => {
    const { dataDir: _omit, ...rest } = base;
    expect(() => resolveContactPointConfig(rest as typeof base)).toThrow(/dataDir/);
  });

  it('rejects a malformed area code', () => {
    expect(() => resolveContactPointConfig({ ...base, areaCode: '12' })).toThrow(/areaCode/);
  });

  it('writes a config that loads back the same', () => {
    const path = join(dir, 'written.json');
    writeContactPointConfig(path, { ...base, registerIntervalMs: 5000 });
    expect(loadContactPointConfig(path)).toEqual({ ...resolveContactPointConfig({ ...base, registerIntervalMs: 5000 }, path) });
  });
});
