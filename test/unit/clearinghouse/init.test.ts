import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig } from '../../../services/clearinghouse/index.js';
import { verifyCertificate } from '../../../libs/auth/index.js';
import { bytesEqual } from '../../../libs/crypto/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ch-init-'));
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('initClearinghouse', () => {
  it('writes a config with the defaults and an operator identity certified by the clearinghouse key', () => {
    const dir = tempDir();
    const r = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const config = loadClearinghouseConfig(r.configPath);
    expect(config).toMatchObject({ listen: '127.0.0.1:0', resolutionTtlMs: 60_000, database: { client: 'sqlite3', filename: join(dir, 'data', 'clearinghouse.sqlite') } });
    const admin = loadClearinghouseAdmin(r.adminIdentityPath);
    expect(bytesEqual(admin.clearinghouse.publicKey, r.publicKey)).toBe(true);
    const cert = admin.identity.certificates[0]!;
    expect(() =>
      verifyCertificate(cert.encoded, { trustedIssuers: [r.publicKey], now: Date.now(), expectedRole: 'clearinghouse-admin', expectedSubject: admin.identity.keyPair.publicKey }),
    ).not.toThrow();
    expect(admin.clearinghouse.address).toBeUndefined();
  });

  it('keeps the keys and the operator certificate when run again', () => {
    const dir = tempDir();
    const a = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const certBefore = readFileSync(a.adminIdentityPath, 'utf8');
    const b = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    expect(bytesEqual(a.publicKey, b.publicKey)).toBe(true);
    expect(bytesEqual(a.adminPublicKey, b.adminPublicKey)).toBe(true);
    expect(readFileSync(b.adminIdentityPath, 'utf8')).toBe(certBefore);
  });

  it('records a fixed listen address in admin.json and keeps operator settings in config.json', () => {
    const dir = tempDir();
    const a = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const raw = JSON.parse(readFileSync(a.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(a.configPath, JSON.stringify({ ...raw, resolutionTtlMs: 5_000 }));
    initClearinghouse(dir, { listen: '127.0.0.1:4999' });
    expect(loadClearinghouseConfig(a.configPath)).toMatchObject({ listen: '127.0.0.1:4999', resolutionTtlMs: 5_000 });
    expect(loadClearinghouseAdmin(a.adminIdentityPath).clearinghouse.address).toBe('127.0.0.1:4999');
  });
});
