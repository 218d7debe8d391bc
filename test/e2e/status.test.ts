/**
 * `intergrid status --config FILE` through the built CLI.
 *
 * Grid: a grid manager (in this process, /metrics on) and two storage servers
 * run as `intergrid serve storage`; a client with a small quota puts a file
 * that fills > 90 % of it on each server, and a second client is approved
 * with a two-day certificate. Status shows both servers up, the account near
 * its quota and the expiring certificate (exit 4: problems listed); the
 * /metrics gauges count the same facts. Killing one server → it shows DOWN.
 *
 * Clearinghouse: two admitted grids with a contact point each and one
 * reported transfer → grids and the open period's totals, exit 0; an
 * over-reported transfer → one open dispute, exit 4. Stopped → one line, exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeCertificateBase64, issueCertificate, setOperatorAddress, validityWindow, writeCertificateFile, writeKeyFile } from '../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { writeClientConfig } from '../../libs/client/index.js';
import { connectGridManager, type GridManagerConnection } from '../../libs/grid/index.js';
import { connectClearinghouse } from '../../libs/federation/index.js';
import { initGridManager, loadAdminIdentity, loadGridManagerConfig, startGridManager, type RunningGridManager } from '../../services/grid-manager/index.js';
import { initClearinghouse, loadClearinghouseAdmin, connectLedger } from '../../services/clearinghouse/index.js';
import { transferRecords, type TransferSpec } from '../unit/clearinghouse/billing-fixture.js';
import { pino } from 'pino';
import { parsePrometheus, sum } from '../unit/metrics/prometheus-text.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

const QUOTA = 200_000;
const FILE_BYTES = 185_000;
const DAY = 86_400_000;

interface GridJson {
  ok: boolean;
  areaCode: string;
  health: string;
  servers: { name: string; state: string; listed: boolean; bytesStored: number | null; availableBytes: number | null; reportedBytes: number }[];
  principals: Record<string, { active: number; revoked: number }>;
  nearQuota: { name: string; account: string; quotaBytes: number; maxServerBytes: number; percent: number }[];
  expiring: { name: string; role: string; expired: boolean; certNotAfterMs: number }[];
  statements: { clearinghouseConfigured: boolean };
  problems: { kind: string; subject: string; message: string }[];
}

describe('intergrid status: grid manager', () => {
  let dir: string;
  let gm: RunningGridManager;
  let gmConfigPath: string;
  let admin: GridManagerConnection;
  const servers: ServedProcess[] = [];
  let quotaClientKey: string;

  const status = (...args: string[]) => runBuiltCli(['status', '--config', gmConfigPath, '--address', gm.address, ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intergrid-status-'));
    const init = initGridManager(join(dir, 'gm'), { areaCode: '101', listen: '127.0.0.1:0' });
    gmConfigPath = init.configPath;
    gm = await startGridManager({ ...loadGridManagerConfig(init.configPath), metrics: { listen: '127.0.0.1:0' } }, { onInternal: () => undefined, logger: pino({ level: 'silent' }) });
    const id = loadAdminIdentity(init.adminIdentityPath);
    admin = connectGridManager(gm.address, id.identity, { gridManagerPublicKey: gm.publicKey });
    for (const name of ['storage-01', 'storage-02']) {
      const sDir = join(dir, name);
      mkdirSync(sDir);
      const key = generateKeyPair();
      writeKeyFile(join(sDir, 'key.json'), key);
      writeCertificateFile(join(sDir, 'certificate.b64'), await admin.approve({ role: 'storage-server', subject: key.publicKey, name }));
      writeFileSync(
        join(sDir, 'config.json'),
        JSON.stringify({
          name,
          listen: '127.0.0.1:0',
          dataDir: './data',
          keyFile: './key.json',
          certificateFile: './certificate.b64',
          gridManager: { address: gm.address, publicKey: toHex(gm.publicKey) },
          usageReportIntervalMs: 200,
        }),
      );
      servers.push(await serveBuilt('storage', join(sDir, 'config.json')));
    }
    // A client whose one file (k=1, n=2: a whole copy on each server) fills > 90 % of its per-server quota.
    const key = generateKeyPair();
    quotaClientKey = toHex(key.publicKey);
    const cert = await admin.approve({ role: 'client', subject: key.publicKey, name: 'client-full', quotaBytes: QUOTA });
    const clientPath = join(dir, 'client.json');
    writeClientConfig(clientPath, {
      areaCode: '101',
      gridManager: { address: gm.address, publicKey: toHex(gm.publicKey) },
      publicKey: quotaClientKey,
      secretKey: toHex(key.secretKey),
      certificate: encodeCertificateBase64(cert),
      encoding: { k: 1, n: 2, happy: 2, segmentSize: 1024 * 1024 },
    });
    // A second client whose certificate expires in two days.
    await admin.approve({ role: 'client', subject: generateKeyPair().publicKey, name: 'client-short', validityMs: 2 * DAY });

    const until = Date.now() + 20_000;
    while ((await admin.getDirectory()).servers.length < 2) {
      if (Date.now() > until) throw new Error('storage servers did not announce');
      await new Promise((r) => setTimeout(r, 100));
    }
    writeFileSync(join(dir, 'in.bin'), randomBytes(FILE_BYTES));
    const put = await runBuiltCli(['put', join(dir, 'in.bin'), '--config', clientPath]);
    if (put.code !== 0) throw new Error(`put failed: ${put.stderr}`);
    // Both servers report the account's bytes (every 200 ms).
    while ((await admin.getStatus()).nearQuota.length === 0) {
      if (Date.now() > until + 10_000) throw new Error('usage reports did not arrive');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    admin?.close();
    await gm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--json: both servers up with their space, the account near quota, the expiring certificate; exit 4', async () => {
    const res = await status('--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(4);
    const r = JSON.parse(res.stdout) as GridJson;
    expect(r).toMatchObject({ ok: false, areaCode: '101', health: 'SERVING', statements: { clearinghouseConfigured: false } });
    expect(r.servers.map((s) => [s.name, s.state, s.listed])).toEqual([
      ['storage-01', 'up', true],
      ['storage-02', 'up', true],
    ]);
    for (const s of r.servers) {
      expect(s.bytesStored).toBeGreaterThanOrEqual(FILE_BYTES);
      expect(s.availableBytes).toBeGreaterThan(0);
      expect(s.reportedBytes).toBe(s.bytesStored);
    }
    // Clients: the two above and the grid's own repairer account (docs/repair.md).
    expect(r.principals).toMatchObject({ 'storage-server': { active: 2, revoked: 0 }, client: { active: 3, revoked: 0 }, admin: { active: 1 } });
    expect(r.nearQuota).toHaveLength(1);
    const q = r.nearQuota[0]!;
    expect(q).toMatchObject({ name: 'client-full', account: quotaClientKey, quotaBytes: QUOTA });
    expect(q.maxServerBytes).toBeGreaterThanOrEqual(0.9 * QUOTA);
    expect(q.maxServerBytes).toBeLessThanOrEqual(QUOTA);
    expect(r.expiring).toEqual([expect.objectContaining({ name: 'client-short', role: 'client', expired: false })]);
    expect(r.expiring[0]!.certNotAfterMs - Date.now()).toBeLessThanOrEqual(2 * DAY);
    expect(r.problems.map((p) => [p.kind, p.subject])).toEqual([
      ['near-quota', 'client-full'],
      ['certificate-expiring', 'client-short'],
    ]);
  }, 30_000);

  it('the human screen marks NEAR QUOTA and EXPIRES, aligned; --expiring-within 1d drops the two-day certificate', async () => {
    const res = await status();
    expect(res.code).toBe(4);
    expect(res.stdout).toMatch(/^grid 101 {2}grid manager \S+ {2}SERVING/);
    expect(res.stdout).toMatch(/storage servers {2}2 approved, 2 up, 2 in the directory/);
    const rows = res.stdout.split('\n').filter((l) => /^ {2}storage-0\d/.test(l));
    expect(rows).toHaveLength(2);
    // Aligned: the STATE column starts at the same offset on both rows.
    expect(rows[0]!.indexOf(' up ')).toBe(rows[1]!.indexOf(' up '));
    expect(res.stdout).toMatch(/client-full\s+\d+ % of 195\.3 KiB on one server\s+NEAR QUOTA/);
    expect(res.stdout).toMatch(/client\s+client-short\s+EXPIRES in (1d|4\dh)/);
    expect(res.stdout).toMatch(/2 problems:/);

    const narrow = JSON.parse((await status('--json', '--expiring-within', '1d')).stdout) as GridJson;
    expect(narrow.expiring).toEqual([]);
  }, 30_000);

  it('/metrics gauges count what status shows', async () => {
    const samples = parsePrometheus(await (await fetch(`http://${gm.metricsAddress}/metrics`)).text());
    const value = (name: string, labels: Record<string, string> = {}): number => {
      expect(samples.some((x) => x.name === name), `${name} in /metrics`).toBe(true);
      return sum(samples, name, { service: 'grid-manager', ...labels });
    };
    expect(value('intergrid_grid_storage_servers')).toBe(2);
    expect(value('intergrid_grid_storage_servers_announced')).toBe(2);
    expect(value('intergrid_grid_storage_servers_listed')).toBe(2);
    expect(value('intergrid_grid_principals', { role: 'storage-server' })).toBe(2);
    expect(value('intergrid_grid_principals', { role: 'client' })).toBe(3); // with the repairer
    expect(value('intergrid_grid_principals', { role: 'admin' })).toBe(1);
    expect(value('intergrid_grid_principals', { role: 'gateway' })).toBe(0);
    expect(value('intergrid_grid_accounts_near_quota')).toBe(1);
    expect(value('intergrid_grid_certificates_expiring')).toBe(1);
  });

  it('a killed storage server shows DOWN (still in the directory: it announced recently)', async () => {
    await servers[1]!.stop('SIGKILL');
    const res = await status('--json');
    expect(res.code).toBe(4);
    const r = JSON.parse(res.stdout) as GridJson;
    expect(r.servers.map((s) => [s.name, s.state, s.listed])).toEqual([
      ['storage-01', 'up', true],
      ['storage-02', 'down', true],
    ]);
    expect(r.servers[1]).toMatchObject({ bytesStored: null, availableBytes: null });
    expect(r.problems[0]).toMatchObject({ kind: 'server-down', subject: 'storage-02' });
    const screen = await status();
    expect(screen.stdout).toMatch(/storage-02\s+127\.0\.0\.1:\d+\s+DOWN\s/);
    expect(screen.stdout).toMatch(/storage servers {2}2 approved, 1 up/);
  }, 30_000);

  it('--admin admin.json is accepted instead of the grid key', async () => {
    const res = await status('--json', '--admin', join(dir, 'gm', 'admin.json'));
    expect(res.stderr).toBe('');
    expect((JSON.parse(res.stdout) as GridJson).areaCode).toBe('101');
  }, 30_000);

  it('--admin admin.json alone: the grid manager it names, at the address it records (as `up` writes it); the config on port 0 takes that address too', async () => {
    const adminPath = join(dir, 'gm', 'admin.json');
    // init on port 0 records no address: one line naming the file, exit 2.
    const none = await runBuiltCli(['status', '--admin', adminPath]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^intergrid: .*admin\.json has no gridManager\.address \(where the grid manager listens\) and no address was given\n$/);
    const noneWithConfig = await runBuiltCli(['status', '--config', gmConfigPath, '--admin', adminPath]);
    expect(noneWithConfig.code).toBe(2);
    expect(noneWithConfig.stderr).toMatch(/listens on port 0 \(any free port\) and .*admin\.json has no gridManager\.address: pass --address HOST:PORT\n$/);

    setOperatorAddress(adminPath, 'gridManager', gm.address);
    for (const args of [['--admin', adminPath], ['--config', gmConfigPath, '--admin', adminPath]]) {
      const res = await runBuiltCli(['status', ...args, '--json']);
      expect(res.stderr, args.join(' ')).toBe('');
      expect(res.code, args.join(' ')).toBe(4); // storage-02 is down
      const r = JSON.parse(res.stdout) as GridJson & { address: string };
      expect(r).toMatchObject({ areaCode: '101', address: gm.address, health: 'SERVING' });
      expect(r.servers.map((x) => [x.name, x.state])).toEqual([
        ['storage-01', 'up'],
        ['storage-02', 'down'],
      ]);
    }
    const screen = await runBuiltCli(['status', '--admin', adminPath]);
    expect(screen.stdout).toMatch(/^grid 101 {2}grid manager \S+ {2}SERVING/);
    // Gone: named by the identity file it came from.
    const down = await runBuiltCli(['status', '--admin', adminPath, '--address', '127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^intergrid: grid manager 101 \(.*admin\.json\) is unreachable: 127\.0\.0\.1:1: .*\n$/);
    // Not an identity file, or neither flag.
    const client = await runBuiltCli(['status', '--admin', join(dir, 'client.json')]);
    expect(client.code).toBe(2);
    expect(client.stderr).toMatch(/^intergrid: .*client\.json is not an operator identity file: .+\n$/);
    const neither = await runBuiltCli(['status']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/^intergrid: status needs --config FILE .* or --admin ADMIN\.json/);
  }, 60_000);

  it('a grid manager that does not answer: one line, exit 1; a file that is neither config: one line naming it, exit 2', async () => {
    const down = await runBuiltCli(['status', '--config', gmConfigPath, '--address', '127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(/^intergrid: grid manager 101 \(.*config\.json\) is unreachable: 127\.0\.0\.1:1: .*\n$/);

    const other = join(dir, 'storage-01', 'config.json');
    const neither = await runBuiltCli(['status', '--config', other]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(new RegExp(`^intergrid: ${other.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is neither a grid manager config \\(.+\\) nor a clearinghouse config \\(.+\\)\\n$`));
  }, 30_000);
});

describe('intergrid status: clearinghouse', () => {
  let dir: string;
  let server: ServedProcess | undefined;
  let configPath: string;
  let base: Omit<TransferSpec, 'transferId' | 'bytes'>;
  let report: (transferId: string, bytes: number, servedBytes?: number) => Promise<void>;

  const status = (...args: string[]) => runBuiltCli(['status', '--config', configPath, '--address', server!.address, ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intergrid-status-ch-'));
    const init = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    configPath = init.configPath;
    server = await serveBuilt('clearinghouse', configPath);
    const op = loadClearinghouseAdmin(init.adminIdentityPath);
    const ch = connectClearinghouse(server.address, op.identity, { clearinghousePublicKey: op.clearinghouse.publicKey });
    const gmA = generateKeyPair();
    const gmB = generateKeyPair();
    await ch.admitGrid({ gridManagerPublicKey: gmA.publicKey, name: 'alpha', areaCode: '101', priceUnitsPerGib: 1000 });
    await ch.admitGrid({ gridManagerPublicKey: gmB.publicKey, name: 'beta', areaCode: '102', priceUnitsPerGib: 5 });
    const cpKey = generateKeyPair();
    const cpCert = (gm: typeof gmA, grid: string, key = cpKey) =>
      issueCertificate(gm, { role: 'contact-point', subject: key.publicKey, grid, ...validityWindow(Date.now(), 600_000), limits: {} });
    // A contact point registered for each grid, so both resolve.
    for (const [gmKey, grid] of [[gmA, '101'], [gmB, '102']] as const) {
      const key = grid === '101' ? cpKey : generateKeyPair();
      const c = connectClearinghouse(server.address, { keyPair: key, certificates: [cpCert(gmKey, grid, key)] }, { clearinghousePublicKey: op.clearinghouse.publicKey });
      await c.registerContactPoint(`127.0.0.1:${grid === '101' ? 7001 : 7002}`);
      c.close();
    }
    const gwKey = generateKeyPair();
    const gw = connectLedger(server.address, { keyPair: gwKey, certificates: [await ch.approveGateway({ areaCode: '102', gatewayPublicKey: gwKey.publicKey })] });
    const cp = connectLedger(server.address, { keyPair: cpKey, certificates: [cpCert(gmA, '101')] }, { clearinghousePublicKey: op.clearinghouse.publicKey });
    base = { exporter: '101', importer: '102', gateway: gwKey, contactPoint: cpKey, priceUnitsPerGib: 1000, priceAsOfMs: Date.now(), atMs: Date.now() };
    report = async (transferId, bytes, servedBytes) => {
      const t = transferRecords({ ...base, transferId, bytes, ...(servedBytes !== undefined ? { servedBytes } : {}) });
      await gw.reportUsage([t.receipt]);
      await cp.reportUsage([t.served]);
    };
    await report('good', 3 * 2 ** 30);
    ch.close();
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--json: grids with contact points and the open period totals; no dispute → exit 0', async () => {
    const res = await status('--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      ok: true,
      service: 'clearinghouse',
      health: 'SERVING',
      grids: [
        { areaCode: '101', name: 'alpha', suspended: false, priceUnitsPerGib: 1000, contactPoints: 1 },
        { areaCode: '102', name: 'beta', suspended: false, priceUnitsPerGib: 5, contactPoints: 1 },
      ],
      disputes: { open: 0, oldest: [] },
      openPeriod: { transfers: 1, bytes: 3 * 2 ** 30, units: 3000, pairs: 1, pendingRecords: 0 },
      lastPeriod: null,
      problems: [],
    });
    const screen = await status();
    expect(screen.code).toBe(0);
    expect(screen.stdout).toMatch(/grids {12}2 admitted, 0 suspended/);
    expect(screen.stdout).toMatch(/open period {6}since .*: 1 transfers, 3\.0 GiB, 3000 units over 1 grid pair/);
    expect(screen.stdout).toMatch(/no problems\n$/);
  }, 30_000);

  it('an over-reported transfer opens a dispute: listed, exit 4; a closed period shows as the last one', async () => {
    await report('over', 1000, 2000);
    const res = await status('--json');
    expect(res.code).toBe(4);
    const r = JSON.parse(res.stdout) as { disputes: { open: number; oldest: { reason: string; exporter: string }[] }; problems: { kind: string }[] };
    expect(r.disputes).toMatchObject({ open: 1, oldest: [{ reason: 'bytes-mismatch', exporter: '101' }] });
    expect(r.problems.map((p) => p.kind)).toEqual(['disputes-open']);
    const withDispute = await status();
    expect(withDispute.stdout).toMatch(/#\d+\s+bytes-mismatch\s+101→102\s+opened \d+s ago/);

    const closed = await runBuiltCli(['clearinghouse', 'close-period', '--admin', join(dir, 'admin.json'), '--clearinghouse', server!.address]);
    expect(closed.code, closed.stderr).toBe(0);
    const after = JSON.parse((await status('--json')).stdout) as { lastPeriod: { id: string; transfers: number } | null };
    expect(after.lastPeriod).toMatchObject({ id: '1', transfers: 1 });
  }, 30_000);

  it("--admin with the operator's admin.json alone (its address recorded): the clearinghouse report", async () => {
    const adminPath = join(dir, 'admin.json');
    setOperatorAddress(adminPath, 'clearinghouse', server!.address);
    const res = await runBuiltCli(['status', '--admin', adminPath, '--json']);
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout)).toMatchObject({ service: 'clearinghouse', address: server!.address, grids: [{ areaCode: '101' }, { areaCode: '102' }] });
  }, 30_000);

  it('a stopped clearinghouse: one line, exit 1', async () => {
    const address = server!.address;
    await server!.stop();
    const res = await runBuiltCli(['status', '--config', configPath, '--address', address]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^intergrid: clearinghouse \(.*config\.json\) is unreachable: .*\n$/);
  }, 30_000);
});
