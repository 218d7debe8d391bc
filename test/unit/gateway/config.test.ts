/** Gateway config loading: defaults, relative paths, clear errors. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadGatewayConfig, resolveGatewayConfig, writeGatewayConfig } from '../../../services/gateway/index.js';
import { ConfigError } from '../../../libs/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'intergrid-gateway-config-'));
const absCert = join(mkdtempSync(join(tmpdir(), 'intergrid-gateway-abs-')), 'gateway-approval.cert');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dirname(absCert), { recursive: true, force: true });
});
// loadGatewayConfig checks that the key and certificate files are readable.
for (const f of [join(dir, 'gateway-key.json'), join(dir, 'gateway.cert'), absCert]) writeFileSync(f, '');

const base = {
  listen: '127.0.0.1:0',
  areaCode: '101',
  dataDir: './gw-data',
  keyFile: './gateway-key.json',
  certificateFiles: ['./gateway.cert', absCert],
  gridManager: { address: '127.0.0.1:7000', publicKey: 'ab'.repeat(32) },
  clearinghouse: { address: '127.0.0.1:7100', publicKey: 'cd'.repeat(32) },
  priceCeilingUnitsPerGib: 100,
};

function write(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

describe('gateway config', () => {
  it('resolves the key and certificate paths against the config file', () => {
    const c = loadGatewayConfig(write('a.json', base));
    expect(c.keyFile).toBe(join(dir, 'gateway-key.json'));
    expect(c.certificateFiles).toEqual([join(dir, 'gateway.cert'), absCert]);
  });

  it('defaults the resolution cache to 60 s and the contact point timeout to 30 s', () => {
    const c = loadGatewayConfig(write('b.json', base));
    expect(c.resolutionCacheMs).toBe(60_000);
    expect(c.contactPointTimeoutMs).toBe(30_000);
  });

  it('puts the database in dataDir by default and delivers receipts for an hour', () => {
    const c = loadGatewayConfig(write('f.json', base));
    expect(c.dataDir).toBe(join(dir, 'gw-data'));
    expect(c.database).toEqual({ client: 'sqlite3', filename: join(dir, 'gw-data', 'gateway.sqlite') });
    expect(c.receiptDeliveryMaxAgeMs).toBe(60 * 60_000);
    expect(c.nats).toBeUndefined();
  });

  it('requires dataDir and validates the nats section, naming the field', () => {
    const { dataDir: _omit, ...rest } = base;
    expect(() => loadGatewayConfig(write('g.json', rest))).toThrow(/dataDir/);
    expect(() => loadGatewayConfig(write('h.json', { ...base, nats: { servers: ['http://x'] } }))).toThrow(/nats\.servers/);
    expect(loadGatewayConfig(write('i.json', { ...base, nats: { servers: ['nats://127.0.0.1:4222'] } })).nats?.servers).toEqual(['nats://127.0.0.1:4222']);
  });

  it('requires a price ceiling, naming the field', () => {
    const { priceCeilingUnitsPerGib: _omit, ...rest } = base;
    expect(() => loadGatewayConfig(write('c.json', rest))).toThrow(/priceCeilingUnitsPerGib/);
  });

  it('rejects a malformed area code with ConfigError naming the field', () => {
    expect(() => loadGatewayConfig(write('d.json', { ...base, areaCode: '12' }))).toThrow(ConfigError);
    expect(() => loadGatewayConfig(write('d.json', { ...base, areaCode: '12' }))).toThrow(/areaCode/);
  });

  it('rejects unknown fields', () => {
    expect(() => loadGatewayConfig(write('e.json', { ...base, priceCeiling: 3 }))).toThrow(/priceCeiling/);
  });

  it('writes a config that loads back with its defaults filled in', () => {
    const path = join(dir, 'written.json');
    writeGatewayConfig(path, base);
    expect(loadGatewayConfig(path)).toMatchObject({ areaCode: '101', priceCeilingUnitsPerGib: 100, maxConcurrentFetches: 64 });
  });

  it('refuses to write or resolve an invalid config, with ConfigError naming the field', () => {
    expect(() => writeGatewayConfig(join(dir, 'bad.json'), { ...base, listen: 'nowhere' })).toThrow(/listen/);
    expect(() => resolveGatewayConfig({ ...base, priceCeilingUnitsPerGib: -1 })).toThrow(ConfigError);
  });
});
