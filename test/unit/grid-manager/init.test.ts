import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initGridManager, loadAdminIdentity, loadGridManagerConfig } from '../../../services/grid-manager/index.js';
import { readKeyFile, verifyCertificate } from '../../../libs/auth/index.js';
import { bytesEqual, toHex } from '../../../libs/crypto/index.js';
import { ConfigError } from '../../../libs/errors/index.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'gm-init-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('initGridManager', () => {
  it('writes a config that loads, naming the grid key and the admin', () => {
    const dir = tmp();
    const r = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    const config = loadGridManagerConfig(r.configPath);
    expect(config.areaCode).toBe('101');
    expect(config.listen).toBe('127.0.0.1:0');
    expect(config.keyFile).toBe(join(dir, 'grid-key.json'));
    expect(config.database).toEqual({ client: 'sqlite3', filename: join(dir, 'data', 'grid-manager.sqlite') });
    expect(config.adminKeys).toEqual([toHex(r.adminPublicKey)]);
    expect(bytesEqual(readKeyFile(config.keyFile).publicKey, r.gridManagerPublicKey)).toBe(true);
  });

  it('issues the admin an admin certificate signed by the grid key', () => {
    const dir = tmp();
    const r = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    const admin = loadAdminIdentity(r.adminIdentityPath);
    const cert = verifyCertificate(admin.identity.certificates[0]!, {
      trustedIssuers: [r.gridManagerPublicKey],
      now: Date.now(),
      expectedRole: 'admin',
      expectedSubject: admin.identity.keyPair.publicKey,
    });
    expect(cert.grid).toBe('101');
    expect(bytesEqual(admin.gridManager.publicKey, r.gridManagerPublicKey)).toBe(true);
  });

  it('keeps the secret key files private (mode 0600)', () => {
    const dir = tmp();
    initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    for (const f of ['grid-key.json', 'admin-key.json', 'admin.json']) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
  });

  it('reuses the grid and admin keys when run again, and takes the new listen address', () => {
    const dir = tmp();
    const first = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    const gridKeyBefore = readFileSync(join(dir, 'grid-key.json'), 'utf8');
    const adminBefore = readFileSync(first.adminIdentityPath, 'utf8');
    const second = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:7001' });
    expect(readFileSync(join(dir, 'grid-key.json'), 'utf8')).toBe(gridKeyBefore);
    expect(bytesEqual(second.gridManagerPublicKey, first.gridManagerPublicKey)).toBe(true);
    expect(bytesEqual(second.adminPublicKey, first.adminPublicKey)).toBe(true);
    expect(loadGridManagerConfig(second.configPath).listen).toBe('127.0.0.1:7001');
    expect(loadGridManagerConfig(second.configPath).adminKeys).toHaveLength(1);
    // The still-valid admin certificate is kept; only the recorded address changes.
    const before = JSON.parse(adminBefore) as { certificate: string };
    const after = JSON.parse(readFileSync(second.adminIdentityPath, 'utf8')) as { certificate: string; gridManager: { address?: string } };
    expect(after.certificate).toBe(before.certificate);
    expect(after.gridManager.address).toBe('127.0.0.1:7001');
  });

  it('keeps settings an operator added to the config', () => {
    const dir = tmp();
    const r = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    const raw = JSON.parse(readFileSync(r.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(r.configPath, JSON.stringify({ ...raw, directoryFreshnessMs: 1234 }));
    initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    expect(loadGridManagerConfig(r.configPath).directoryFreshnessMs).toBe(1234);
  });

  it('refuses to change the area code of an existing grid', () => {
    const dir = tmp();
    initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    expect(() => initGridManager(dir, { areaCode: '202', listen: '127.0.0.1:0' })).toThrow(ConfigError);
  });
});

describe('loadGridManagerConfig', () => {
  it('names the file and the field of an invalid value', () => {
    const dir = tmp();
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ listen: '127.0.0.1:0', dataDir: '.', keyFile: 'k.json', areaCode: '1x' }));
    expect(() => loadGridManagerConfig(path)).toThrow(/config\.json: areaCode/);
  });
});
