/**
 * `intergrid status` deciding what FILE is: a grid manager config, a
 * clearinghouse config (each recognised by its own schema, each calling as a
 * certificate its own key issued to itself), or neither (one ConfigError
 * naming the file); and where it calls the service. An operator identity
 * file alone (loadAdminTarget): which authority, its key, its recorded
 * address; and the recorded address standing in for a config's port 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setOperatorAddress, verifyCertificate } from '../../../libs/auth/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { initGridManager } from '../../../services/grid-manager/index.js';
import { initClearinghouse } from '../../../services/clearinghouse/index.js';
import { callAddress, loadAdminTarget, loadServiceTarget } from '../../../services/cli/status/service-config.js';

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
    expect(() => callAddress('127.0.0.1:0', 'f.json')).toThrow(/^f\.json listens on port 0 \(any free port\): pass --address HOST:PORT, or --admin ADMIN\.json recording the address$/);
  });
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('status: an operator identity file alone (loadAdminTarget)', () => {
  it("a grid admin's admin.json → grid-manager at its recorded address, as the admin, pinned to the grid key", () => {
    const init = initGridManager(join(dir, 'gm0'), { areaCode: '206', listen: '127.0.0.1:0' });
    // Port 0: init records no address, and none is given.
    expect(() => loadAdminTarget(init.adminIdentityPath)).toThrow(ConfigError);
    expect(() => loadAdminTarget(init.adminIdentityPath)).toThrow(new RegExp(`^${escape(init.adminIdentityPath)} has no gridManager\\.address \\(where the grid manager listens\\) and no address was given$`));
    expect(loadAdminTarget(init.adminIdentityPath, { address: 'gm.example:9' }).address).toBe('gm.example:9');
    // What `intergrid up` does at every start.
    setOperatorAddress(init.adminIdentityPath, 'gridManager', '127.0.0.1:41001');
    const t = loadAdminTarget(init.adminIdentityPath);
    expect(t.kind).toBe('grid-manager');
    expect(t.address).toBe('127.0.0.1:41001');
    expect(t.serviceKey).toEqual(init.gridManagerPublicKey);
    expect(t.identity.keyPair.publicKey).toEqual(init.adminPublicKey);
    const cert = verifyCertificate(t.identity.certificates[0]!, { trustedIssuers: [init.gridManagerPublicKey], now: Date.now(), expectedRole: 'admin', expectedSubject: init.adminPublicKey });
    expect(cert.grid).toBe('206');
    // An explicit address wins over the recorded one.
    expect(loadAdminTarget(init.adminIdentityPath, { address: 'other:1' }).address).toBe('other:1');
  });

  it("the clearinghouse operator's admin.json → clearinghouse, pinned to the clearinghouse key", () => {
    const init = initClearinghouse(join(dir, 'ch0'), { listen: '127.0.0.1:0' });
    expect(() => loadAdminTarget(init.adminIdentityPath)).toThrow(/has no clearinghouse\.address \(where the clearinghouse listens\) and no address was given$/);
    setOperatorAddress(init.adminIdentityPath, 'clearinghouse', '127.0.0.1:41002');
    const t = loadAdminTarget(init.adminIdentityPath);
    expect(t).toMatchObject({ kind: 'clearinghouse', address: '127.0.0.1:41002' });
    expect(t.serviceKey).toEqual(init.publicKey);
    expect(t.identity.keyPair.publicKey).toEqual(init.adminPublicKey);
  });

  it('not an operator identity file: one ConfigError naming the file', () => {
    const other = join(dir, 'not-admin.json');
    writeFileSync(other, JSON.stringify({ listen: '127.0.0.1:1' }));
    expect(() => loadAdminTarget(other)).toThrow(new RegExp(`^${escape(other)} is not an operator identity file: it must name exactly one of gridManager or clearinghouse`));
    // A client.json names its grid manager too, but is no identity file.
    const client = join(dir, 'client-like.json');
    writeFileSync(client, JSON.stringify({ areaCode: '101', gridManager: { address: '127.0.0.1:1', publicKey: 'ab'.repeat(32) }, publicKey: 'cd'.repeat(32), secretKey: 'ef'.repeat(32), certificate: 'x' }));
    expect(() => loadAdminTarget(client)).toThrow(ConfigError);
    expect(() => loadAdminTarget(client)).toThrow(new RegExp(`^${escape(client)} is not an operator identity file: .*keyFile`));
    expect(() => loadAdminTarget(join(dir, 'missing-admin.json'))).toThrow(/^cannot read config .*missing-admin\.json: ENOENT$/);
  });

  it('--config listening on port 0 with --admin: the address the admin file records, else one line naming both files', () => {
    const init = initGridManager(join(dir, 'gm1'), { areaCode: '207', listen: '127.0.0.1:0' });
    expect(() => loadServiceTarget(init.configPath, { now: Date.now(), admin: init.adminIdentityPath })).toThrow(
      new RegExp(`^${escape(init.configPath)} listens on port 0 \\(any free port\\) and ${escape(init.adminIdentityPath)} has no gridManager\\.address: pass --address HOST:PORT$`),
    );
    setOperatorAddress(init.adminIdentityPath, 'gridManager', '127.0.0.1:41003');
    const t = loadServiceTarget(init.configPath, { now: Date.now(), admin: init.adminIdentityPath });
    expect(t).toMatchObject({ kind: 'grid-manager', address: '127.0.0.1:41003' });
    expect(t.serviceKey).toEqual(init.gridManagerPublicKey);
    // --address still wins; a fixed listen port still wins over the recorded address.
    expect(loadServiceTarget(init.configPath, { now: Date.now(), admin: init.adminIdentityPath, address: 'x:2' }).address).toBe('x:2');
    const fixed = initGridManager(join(dir, 'gm2'), { areaCode: '208', listen: '127.0.0.1:7301' });
    setOperatorAddress(fixed.adminIdentityPath, 'gridManager', '127.0.0.1:41004');
    expect(loadServiceTarget(fixed.configPath, { now: Date.now(), admin: fixed.adminIdentityPath }).address).toBe('127.0.0.1:7301');
    // A clearinghouse config on port 0 with its operator's file.
    const ch = initClearinghouse(join(dir, 'ch1'), { listen: '127.0.0.1:0' });
    setOperatorAddress(ch.adminIdentityPath, 'clearinghouse', '127.0.0.1:41005');
    expect(loadServiceTarget(ch.configPath, { now: Date.now(), admin: ch.adminIdentityPath })).toMatchObject({ kind: 'clearinghouse', address: '127.0.0.1:41005' });
  });
});
