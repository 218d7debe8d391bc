/**
 * The dashboard's plumbing, without services: which admin identity file is
 * whose (loadAdminTarget), the status collector turning a failed report into
 * one line, and the pages over HTTP (startWebServer with createDashboard and
 * stand-in report functions): CSP and security headers, the status part at /
 * and /status without script, the assets, the download form's redirect, and
 * an uploaded cap in the URL escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { PermissionError, UnavailableError } from '../../../libs/errors/index.js';
import { writeClientConfig } from '../../../libs/client/index.js';
import { initGridManager } from '../../../services/grid-manager/index.js';
import { initClearinghouse } from '../../../services/clearinghouse/index.js';
import type { ClearinghouseReport } from '../../../services/cli/status/clearinghouse-report.js';
import type { GridReport } from '../../../services/cli/status/grid-report.js';
import { loadAdminTarget, type AdminTarget } from '../../../services/cli/status/service-config.js';
import { collectStatus, EXPIRING_WITHIN_MS, STATUS_TIMEOUT_MS, type ReportFunctions } from '../../../services/web/status-source.js';
import { CONTENT_SECURITY_POLICY, createDashboard } from '../../../services/web/dashboard.js';
import { startWebServer, type RunningWebServer } from '../../../services/web/server.js';

let dir: string;
let gmAdmin: string;
let chAdmin: string;
let gmKey: Uint8Array;
let clientPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-dashboard-'));
  const gm = initGridManager(join(dir, 'gm'), { areaCode: '205', listen: '127.0.0.1:7300' });
  gmAdmin = gm.adminIdentityPath;
  gmKey = gm.gridManagerPublicKey;
  const ch = initClearinghouse(join(dir, 'ch'), { listen: '127.0.0.1:7700' });
  chAdmin = ch.adminIdentityPath;
  const key = generateKeyPair();
  clientPath = join(dir, 'client.json');
  writeClientConfig(clientPath, {
    areaCode: '205',
    gridManager: { address: '127.0.0.1:7300', publicKey: toHex(gmKey) },
    publicKey: toHex(key.publicKey),
    secretKey: toHex(key.secretKey),
    certificate: 'AAAA',
    encoding: { k: 1, n: 1, happy: 1, segmentSize: 1024 },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Stand-in reports: fixed objects, or the error each call should throw. */
function fakeReports(grid: GridReport | Error, ch: ClearinghouseReport | Error, calls: unknown[][] = []): ReportFunctions {
  return {
    grid: async (...args) => {
      calls.push(['grid', ...args]);
      if (grid instanceof Error) throw grid;
      return grid;
    },
    clearinghouse: async (...args) => {
      calls.push(['clearinghouse', ...args]);
      if (ch instanceof Error) throw ch;
      return ch;
    },
  };
}

const NOW = Date.UTC(2026, 0, 15);
const GRID: GridReport = {
  service: 'grid-manager',
  address: '127.0.0.1:7300',
  areaCode: '205',
  health: 'SERVING',
  checkedAtMs: NOW,
  directoryFreshnessMs: 300_000,
  servers: [
    {
      name: 'storage-<01>',
      key: '00',
      address: '127.0.0.1:7401',
      state: 'up',
      listed: true,
      lastSeenMs: NOW,
      certNotAfterMs: NOW,
      sharesStored: 1,
      bytesStored: 10,
      availableBytes: 1024,
      reportedBytes: 10,
      reportedAtMs: NOW,
    },
  ],
  principals: {},
  nearQuotaRatio: 0.9,
  nearQuota: [],
  expiringWithinMs: EXPIRING_WITHIN_MS,
  expiring: [],
  statements: { clearinghouseConfigured: false, count: 0, last: null },
  problems: [],
};

describe('collectStatus', () => {
  it('asks each target as `intergrid status` does, in order', async () => {
    const calls: unknown[][] = [];
    const targets = [loadAdminTarget(gmAdmin), loadAdminTarget(chAdmin)];
    const sections = await collectStatus(targets, fakeReports(GRID, new PermissionError('not an operator'), calls));
    expect(calls.map((c) => c.slice(0, 2))).toEqual([
      ['grid', '127.0.0.1:7300'],
      ['clearinghouse', '127.0.0.1:7700'],
    ]);
    expect(calls[0]!.slice(4)).toEqual([EXPIRING_WITHIN_MS, STATUS_TIMEOUT_MS]);
    expect(calls[1]![4]).toBe(STATUS_TIMEOUT_MS);
    expect(sections[0]).toEqual({ kind: 'grid-manager', report: GRID });
    // A refusal: the reason, naming the service.
    expect(sections[1]).toEqual({ kind: 'error', title: 'Clearinghouse', message: 'clearinghouse at 127.0.0.1:7700: not an operator' });
  });

  it('an unreachable service: one line (whitespace collapsed, long reasons cut), titled by the admin certificate’s grid', async () => {
    const targets: AdminTarget[] = [loadAdminTarget(gmAdmin)];
    const [section] = await collectStatus(targets, fakeReports(new UnavailableError(`connect ECONNREFUSED\n  at somewhere\n${'x'.repeat(400)}`), GRID as never));
    expect(section).toMatchObject({ kind: 'error', title: 'Grid 205' });
    const message = (section as { message: string }).message;
    expect(message.startsWith('grid manager at 127.0.0.1:7300 is unreachable: connect ECONNREFUSED at somewhere xxx')).toBe(true);
    expect(message).not.toContain('\n');
    expect(message.length).toBe(300);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('dashboard pages over HTTP', () => {
  let web: RunningWebServer;
  let reports: ReportFunctions;
  const noClient = () => Promise.reject(new Error('no grid in this test'));

  beforeAll(async () => {
    reports = fakeReports(GRID, new UnavailableError('connect ECONNREFUSED 127.0.0.1:7700'));
    const pages = createDashboard({ clientConfig: clientPath, admins: [loadAdminTarget(gmAdmin), loadAdminTarget(chAdmin)], reports: { grid: (...a) => reports.grid(...a), clearinghouse: (...a) => reports.clearinghouse(...a) } });
    web = await startWebServer({ listen: '127.0.0.1:0', openClient: noClient, pages, log: () => undefined });
  });
  afterAll(() => web?.close());

  it('GET /: the forms and the status part, with a strict CSP, no-store and no Referer to other sites', async () => {
    const res = await fetch(`${web.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body).toContain('<title>Intergrid — grid 205</title>');
    expect(body).toContain('<form id="upload-form" method="post" action="/uri" enctype="multipart/form-data">');
    expect(body).toContain('<form id="download-form" method="get" action="/download">');
    expect(body).toContain('<script src="/app.js" defer></script>');
    // No inline script or style: the CSP would refuse them.
    expect(body.match(/<script/g)).toHaveLength(1);
    expect(body).not.toMatch(/ style=|<style| on[a-z]+=/);
    expect(body).toContain('<td>storage-&#60;01&#62;</td>');
    expect(body).toContain('<p class="error" role="alert">clearinghouse at 127.0.0.1:7700 is unreachable: connect ECONNREFUSED 127.0.0.1:7700</p>');
  });

  it('GET /status: the status part alone, no script; HEAD answers the headers only', async () => {
    const res = await fetch(`${web.url}/status`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('<div id="status">');
    expect(body).toContain('<h2>Grid 205</h2>');
    expect(body).not.toContain('<script');
    expect(body).not.toContain('upload-form');
    const head = await fetch(`${web.url}/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
  });

  it('the assets: /app.js and /app.css with their types', async () => {
    const js = await fetch(`${web.url}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain("xhr.open('PUT', '/uri')");
    const css = await fetch(`${web.url}/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${web.url}/nope`)).status).toBe(404);
  });

  it('the download form redirects to the file with the name given, or a default', async () => {
    const cap = 'URI:CHK:abc:def:3:10:99:205';
    const named = await fetch(`${web.url}/download?cap=${encodeURIComponent(` ${cap} `)}&filename=${encodeURIComponent('a b&c.txt')}`, { redirect: 'manual' });
    expect(named.status).toBe(303);
    expect(named.headers.get('location')).toBe(`/uri/${encodeURIComponent(cap)}?filename=a%20b%26c.txt`);
    const unnamed = await fetch(`${web.url}/download?cap=${encodeURIComponent(cap)}&filename=`, { redirect: 'manual' });
    expect(unnamed.headers.get('location')).toBe(`/uri/${encodeURIComponent(cap)}?filename=download`);
  });

  it('after a plain form upload (/?uploaded=CAP): the cap shown and linked, escaped', async () => {
    const evil = '"><script>alert(1)</script>';
    const body = await (await fetch(`${web.url}/?uploaded=${encodeURIComponent(evil)}`)).text();
    expect(body).not.toContain('<script>alert');
    expect(body).toContain('<code id="uploaded-cap">&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;</code>');
    expect(body).toContain(`href="/uri/${encodeURIComponent(evil)}?filename=download"`);
  });

  it('a service that recovers shows up on the next load (no cache)', async () => {
    const ch: ClearinghouseReport = {
      service: 'clearinghouse',
      address: '127.0.0.1:7700',
      health: 'SERVING',
      checkedAtMs: NOW,
      grids: [],
      disputes: { open: 0, oldest: [] },
      openPeriod: { fromMs: 0, bytes: 0, units: 0, transfers: 0, pairs: 0, pendingRecords: 0, records: 0 },
      lastPeriod: null,
      problems: [],
    };
    reports = fakeReports(GRID, ch);
    const body = await (await fetch(`${web.url}/status`)).text();
    expect(body).toContain('<h2>Clearinghouse</h2>');
    expect(body).not.toContain('unreachable');
  });
});
