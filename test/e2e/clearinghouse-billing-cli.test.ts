/**
 * The built CLI's billing commands (ledger, disputes, resolve-dispute,
 * close-period, statement) against `intergrid serve clearinghouse`, with
 * real signed records reported by a gateway and a contact point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, validityWindow } from '../../libs/auth/index.js';
import { generateKeyPair } from '../../libs/crypto/index.js';
import { costOf } from '../../libs/ledger/index.js';
import { connectClearinghouse } from '../../libs/federation/index.js';
import { initClearinghouse, loadClearinghouseAdmin, connectLedger } from '../../services/clearinghouse/index.js';
import { transferRecords, type TransferSpec } from '../unit/clearinghouse/billing-fixture.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

let dir: string;
let admin: string;
let server: ServedProcess | undefined;
let address: string;

function ch(...args: string[]) {
  return runBuiltCli(['clearinghouse', ...args, '--admin', admin, '--clearinghouse', address]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-ch-billing-cli-'));
  const { configPath, adminIdentityPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' });
  admin = adminIdentityPath;
  server = await serveBuilt('clearinghouse', configPath);
  address = server.address;
  // Two grids, a contact point of 101 and a gateway of 102; one good transfer and one over-reported.
  const op = loadClearinghouseAdmin(admin);
  const adminConn = connectClearinghouse(address, op.identity, { clearinghousePublicKey: op.clearinghouse.publicKey });
  const gm = generateKeyPair();
  await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'a', areaCode: '101', priceUnitsPerGib: 1000 });
  await adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'b', areaCode: '102', priceUnitsPerGib: 5 });
  const cpKey = generateKeyPair();
  const gwKey = generateKeyPair();
  const cp = connectLedger(address, { keyPair: cpKey, certificates: [issueCertificate(gm, { role: 'contact-point', subject: cpKey.publicKey, grid: '101', ...validityWindow(Date.now(), 60_000), limits: {} })] }, { clearinghousePublicKey: op.clearinghouse.publicKey });
  const gw = connectLedger(address, { keyPair: gwKey, certificates: [await adminConn.approveGateway({ areaCode: '102', gatewayPublicKey: gwKey.publicKey })] });
  const base: Omit<TransferSpec, 'transferId' | 'bytes'> = { exporter: '101', importer: '102', gateway: gwKey, contactPoint: cpKey, priceUnitsPerGib: 1000, priceAsOfMs: Date.now(), atMs: Date.now() };
  const good = transferRecords({ ...base, transferId: 'good', bytes: 3 * 2 ** 30 });
  const over = transferRecords({ ...base, transferId: 'over', bytes: 1000, servedBytes: 2000 });
  await gw.reportUsage([good.receipt, over.receipt]);
  await cp.reportUsage([good.served, over.served]);
  for (const c of [cp, gw, adminConn]) c.close();
}, 30_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('intergrid clearinghouse billing commands', () => {
  it('ledger, disputes, resolve-dispute, close-period and a verified statement', async () => {
    const ledger = await ch('ledger', '--json');
    expect(ledger.code).toBe(0);
    expect(JSON.parse(ledger.stdout)).toMatchObject({ pairs: [{ exporter: '101', importer: '102', bytes: 3 * 2 ** 30, units: 3000, transfers: 1 }], openDisputes: 1, records: 4 });

    const disputes = await ch('disputes', '--json');
    const [d] = JSON.parse(disputes.stdout) as { id: number; reason: string; servedBytes: number; receiptBytes: number }[];
    expect(d).toMatchObject({ reason: 'bytes-mismatch', servedBytes: 2000, receiptBytes: 1000 });
    expect((await ch('disputes')).stdout).toMatch(/bytes-mismatch\s+101→102\s+served 2000\s+received 1000/);

    const bad = await ch('resolve-dispute', String(d!.id), '--accept', 'served', '--void');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^intergrid: give exactly one of --accept served\|receipt or --void\n$/);
    const ok = await ch('resolve-dispute', String(d!.id), '--accept', 'receipt', '--note', 'gateway verified 1000');
    expect(ok).toMatchObject({ code: 0, stdout: `dispute ${d!.id} resolved: accept-receipt, 1 units posted\n` });
    const again = await ch('resolve-dispute', String(d!.id), '--void');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^intergrid: clearinghouse \S+: dispute \d+ is already resolved \(accept-receipt at .*\)\n$/);
    expect((await ch('disputes')).stdout).toBe('no open disputes\n');

    const close = await ch('close-period');
    expect(close.code).toBe(0);
    expect(close.stdout).toMatch(/^period 1 closed: .* 2 transfers, 2 grid statements\n$/);

    const st = await ch('statement', '--json');
    expect(st.code).toBe(0);
    const { period, summary, statements } = JSON.parse(st.stdout) as {
      period: { id: string };
      summary: { totalUnits: number; balances: { areaCode: string; netUnits: number }[] };
      statements: { areaCode: string; netUnits: number }[];
    };
    const owed = costOf(3 * 2 ** 30, 1000) + costOf(1000, 1000);
    expect(period.id).toBe('1');
    expect(summary).toMatchObject({ totalUnits: 0, balances: [{ areaCode: '101', netUnits: owed }, { areaCode: '102', netUnits: -owed }] });
    expect(statements.map((s) => [s.areaCode, s.netUnits])).toEqual([['101', owed], ['102', -owed]]);
    const text = await ch('statement', '--period', '1');
    expect(text.stdout).toMatch(/signatures verified/);
    expect(text.stdout).toMatch(/total\s+0/);

    const missing = await ch('statement', '--period', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`intergrid: clearinghouse ${address}: period 'nope' is not closed (or does not exist)\n`);
    const dup = await ch('close-period', '--id', '1');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toBe(`intergrid: clearinghouse ${address}: period '1' is already closed\n`);
  }, 180_000);
});
