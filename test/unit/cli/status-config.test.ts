/**
 * `intergrid status` deciding what FILE is: a grid manager config, a
 * clearinghouse config (each recognised by its own schema, each calling as a
 * certificate its own key issued to itself), or neither (one ConfigError
 * naming the file); and where it calls the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCertificate } from '../../../libs/auth/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { initGridManager } from '../../../services/grid-manager/index.js';
import { initClearinghouse } from '../../../services/clearinghouse/index.js';
import { callAddress, loadServiceTarget } from '../../../services/cli/status/service-config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-status-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('status: which service a config belongs to', () => {
  it('a grid manager config → kind grid-manager, calling as an admin certificate the grid key issued to itself', () => {
    const init = initGridManager(join(dir, 'gm'), { areaCode: '205', listen: '0.0.0.0:7300' });
    const now = Date.now();
    const t = loadServiceTarget(init.configPath, { now });
    expect(t.kind).toBe('grid-manager');
    expect(t.address).toBe('127.0.0.1:7300');
    const cert = verifyCertificate(t.identity.certificates[0]!, { trustedIssuers: [t.serviceKey], now, expectedRole: 'admin', expectedSubject: t.serviceKey });
    expect(cert.grid).toBe('205');
    expect(cert.notAfter - now).toBeLessThanOrEqual(10 * 60_000);
    // --admin: the admin identity instead; --address wins over listen.
    const viaAdmin = loadServiceTarget(init.configPath, { now, admin: init.adminIdentityPath, address: 'gm.example:1' });
    expect(viaAdmin.address).toBe('gm.example:1');
    expect(viaAdmin.identity.keyPair.publicKey).not.toEqual(t.serviceKey);
    expect(viaAdmin.serviceKey).toEqual(t.serviceKey);
  });

  it('a clearinghouse config → kind clearinghouse, calling as a clearinghouse-admin certificate of its own key', () => {
    const init = initClearinghouse(join(dir, 'ch'), { listen: 'ch.internal:7000' });
    const now = Date.now();
    const t = loadServiceTarget(init.configPath, { now });
    expect(t.kind).toBe('clearinghouse');
    expect(t.address).toBe('ch.internal:7000');
    expect(t.serviceKey).toEqual(init.publicKey);
    verifyCertificate(t.identity.certificates[0]!, { trustedIssuers: [init.publicKey], now, expectedRole: 'clearinghouse-admin', expectedSubject: init.publicKey });
  });

  it('neither: one ConfigError naming the file and both reasons; unreadable: the read error once', () => {
    const path = join(dir, 'other.json');
    writeFileSync(path, JSON.stringify({ listen: '127.0.0.1:1', dataDir: '.', keyFile: 'k.json', certificateFile: 'c.b64' }));
    expect(() => loadServiceTarget(path, { now: 0 })).toThrow(ConfigError);
    expect(() => loadServiceTarget(path, { now: 0 })).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is neither a grid manager config \\(.*areaCode.*\\) nor a clearinghouse config \\(.*certificateFile.*\\)$`));
    expect(() => loadServiceTarget(join(dir, 'missing.json'), { now: 0 })).toThrow(/^cannot read config .*missing\.json: ENOENT$/);
  });

  it('port 0 cannot be called without --address', () => {
    expect(callAddress('0.0.0.0:7400', 'f.json')).toBe('127.0.0.1:7400');
    expect(callAddress('10.0.0.5:7400', 'f.json')).toBe('10.0.0.5:7400');
    expect(() => callAddress('127.0.0.1:0', 'f.json')).toThrow(/^f\.json listens on port 0 \(any free port\): pass --address HOST:PORT$/);
  });
});
