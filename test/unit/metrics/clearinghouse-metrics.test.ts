/**
 * The clearinghouse serves /metrics (requests by method and code, ledger
 * postings, open disputes) and logs one line per call without keys.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, type RunningClearinghouse } from '../../../services/clearinghouse/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { generateKeyPair, shortKey, toHex } from '../../../libs/crypto/index.js';
import { serviceLogger } from '../../../libs/metrics/index.js';
import { parsePrometheus, sum } from './prometheus-text.js';

let dir: string | undefined;
let ch: RunningClearinghouse | undefined;
let conn: ClearinghouseConnection | undefined;

afterEach(async () => {
  conn?.close();
  await ch?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = ch = conn = undefined;
});

describe('clearinghouse metrics', () => {
  it('serves request counts, ledger postings and open disputes; logs carry the short caller key only', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ch-metrics-'));
    const { configPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, verifyWorkers: 0, metrics: { listen: '127.0.0.1:0' } }));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        cb();
      },
    });
    ch = await startClearinghouse(loadClearinghouseConfig(configPath), { onInternal: () => undefined, logger: serviceLogger('clearinghouse', { env: { INTERGRID_LOG_LEVEL: 'info' }, destination: sink }) });
    const admin = loadClearinghouseAdmin(join(dir, 'admin.json'));
    conn = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: ch.publicKey });
    await conn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'g', areaCode: '101' });
    expect(await conn.listGrids()).toHaveLength(1);

    const res = await fetch(`http://${ch.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const samples = parsePrometheus(await res.text());
    expect(sum(samples, 'intergrid_rpc_requests_total', { method: 'Clearinghouse/AdmitGrid', code: 'OK' })).toBe(1);
    expect(sum(samples, 'intergrid_rpc_requests_total', { method: 'Clearinghouse/ListGrids', code: 'OK' })).toBe(1);
    expect(sum(samples, 'intergrid_rpc_received_bytes_total', { method: 'Clearinghouse/AdmitGrid' })).toBeGreaterThan(32);
    expect(samples.filter((s) => s.name === 'intergrid_clearinghouse_ledger_postings').map((s) => s.value)).toEqual([0]);
    expect(samples.filter((s) => s.name === 'intergrid_clearinghouse_disputes_open').map((s) => s.value)).toEqual([0]);

    const rpc = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o['msg'] === 'rpc');
    expect(rpc.map((o) => o['method'])).toEqual(['Clearinghouse/AdmitGrid', 'Clearinghouse/ListGrids']);
    expect(rpc.every((o) => o['caller'] === shortKey(admin.identity.keyPair.publicKey) && o['status'] === 'OK')).toBe(true);
    const log = lines.join('\n');
    expect(log).not.toContain(toHex(admin.identity.keyPair.secretKey));
    expect(log).not.toContain(toHex(admin.identity.keyPair.publicKey));
  });
});
