/**
 * The dashboard's status part (services/web/status-page.ts) rendered from
 * report objects like `intergrid status --json` prints: the tables and
 * problems of a grid and of the clearinghouse, an unreachable service's one
 * line, and every name and reason escaped (other parties choose them).
 */
import { describe, expect, it } from 'vitest';
import type { ClearinghouseReport } from '../../../services/cli/status/clearinghouse-report.js';
import { gridProblems, type GridReport, type ServerReport } from '../../../services/cli/status/grid-report.js';
import { clearinghouseProblems } from '../../../services/cli/status/clearinghouse-report.js';
import { clearinghouseSection, errorSection, gridSection, statusPart } from '../../../services/web/status-page.js';
import { escapeHtml, html } from '../../../services/web/html.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const EVIL = `<img src=x onerror="alert(1)">&'`;

function server(name: string, over: Partial<ServerReport> = {}): ServerReport {
  return {
    name,
    key: 'ab'.repeat(32),
    address: '127.0.0.1:7401',
    state: 'up',
    listed: true,
    lastSeenMs: NOW - 30_000,
    certNotAfterMs: NOW + 30 * DAY,
    sharesStored: 12,
    bytesStored: 3 * 1024 * 1024,
    availableBytes: 20 * 1024 ** 3,
    reportedBytes: 3 * 1024 * 1024,
    reportedAtMs: NOW - 10_000,
    ...over,
  };
}

function grid(over: Partial<Omit<GridReport, 'problems'>> = {}): GridReport {
  const body: Omit<GridReport, 'problems'> = {
    service: 'grid-manager',
    address: '127.0.0.1:7300',
    areaCode: '101',
    health: 'SERVING',
    checkedAtMs: NOW,
    directoryFreshnessMs: 300_000,
    servers: [server('storage-01'), server('storage-02', { state: 'down', address: '127.0.0.1:7402', sharesStored: null, bytesStored: null, availableBytes: null, error: 'connect ECONNREFUSED' })],
    principals: { 'storage-server': { active: 2, revoked: 0 }, client: { active: 3, revoked: 1 } },
    nearQuotaRatio: 0.9,
    nearQuota: [{ name: 'client-full', account: 'cd'.repeat(32), quotaBytes: 200_000, maxServerBytes: 185_000, bytesStored: 370_000, percent: 92 }],
    expiringWithinMs: 7 * DAY,
    expiring: [{ name: 'client-short', role: 'client', key: 'ef'.repeat(32), certNotAfterMs: NOW + 2 * DAY, expired: false }],
    statements: { clearinghouseConfigured: true, count: 2, last: { periodId: 'p-0002', netUnits: 1500, fetchedAtMs: NOW - 3_600_000 } },
    ...over,
  };
  return { ...body, problems: gridProblems(body) };
}

function clearinghouse(over: Partial<Omit<ClearinghouseReport, 'problems'>> = {}): ClearinghouseReport {
  const body: Omit<ClearinghouseReport, 'problems'> = {
    service: 'clearinghouse',
    address: '127.0.0.1:7700',
    health: 'SERVING',
    checkedAtMs: NOW,
    grids: [
      { areaCode: '101', name: 'alpha', suspended: false, priceUnitsPerGib: 1000, contactPoints: 2, admittedAtMs: NOW - 10 * DAY },
      { areaCode: '102', name: 'beta', suspended: true, priceUnitsPerGib: 2000, contactPoints: 0, admittedAtMs: NOW - 5 * DAY },
    ],
    disputes: { open: 4, oldest: [{ id: 7, transferId: 'tx-7', exporter: '101', importer: '102', reason: 'counts differ', openedAtMs: NOW - 2 * 3_600_000 }] },
    openPeriod: { fromMs: NOW - DAY, bytes: 5 * 1024 * 1024, units: 42, transfers: 9, pairs: 1, pendingRecords: 3, records: 18 },
    lastPeriod: { id: 'p-0002', fromMs: NOW - 2 * DAY, toMs: NOW - DAY, closedAtMs: NOW - DAY, grids: 2, transfers: 11 },
    ...over,
  };
  return { ...body, problems: clearinghouseProblems(body) };
}

/** The text of an HTML fragment with tags dropped and whitespace collapsed (enough for these assertions). */
const text = (markup: string): string => markup.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
/** The <tr> whose data-server is `name`. */
const row = (markup: string, name: string): string => /<tr[^>]*data-server="([^"]*)"[\s\S]*?<\/tr>/g.exec(markup.slice(markup.indexOf(`data-server="${name}"`) - 60))?.[0] ?? '';

describe('html', () => {
  it('escapes interpolated strings, keeps Html, joins arrays and drops null/undefined/false', () => {
    expect(escapeHtml(EVIL)).toBe('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;&#39;');
    const inner = html`<b>${'a<b'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${[1, '<2>']}${null}${undefined}${false}${0}</p>`.text).toBe('<p title="&#34;x&#34;"><b>a&#60;b</b>1\n&#60;2&#62;0</p>');
  });
});

describe('status part: a grid', () => {
  it('lists every storage server with its state, last announcement and space, the down one marked', () => {
    const out = gridSection(grid()).text;
    expect(out).toContain('<h2>Grid 101</h2>');
    expect(text(out)).toContain('2 approved, 1 up, 2 in the directory (announced within 5m)');
    const up = row(out, 'storage-01');
    expect(up).toContain('class="server state-up"');
    expect(text(up)).toBe(' storage-01 127.0.0.1:7401 up 30s ago 3.0 MiB 20.0 GiB 12 ');
    const down = row(out, 'storage-02');
    expect(down).toContain('class="server state-down"');
    // Not answering: no live space; its last usage report instead.
    expect(text(down)).toBe(' storage-02 127.0.0.1:7402 down 30s ago 3.0 MiB (reported) – – connect ECONNREFUSED ');
  });

  it('states: draining, never announced, up but not in the directory', () => {
    const out = gridSection(
      grid({
        servers: [
          server('s-drain', { state: 'draining', error: 'health NOT_SERVING' }),
          server('s-new', { state: 'never-announced', address: null, lastSeenMs: null, sharesStored: null, bytesStored: null, availableBytes: null, reportedAtMs: null, reportedBytes: 0 }),
          server('s-stale', { listed: false }),
        ],
      }),
    ).text;
    expect(text(row(out, 's-drain'))).toContain(' draining ');
    expect(text(row(out, 's-new'))).toBe(' s-new – never announced – – – – ');
    expect(text(row(out, 's-stale'))).toContain('not in the directory');
  });

  it('shows the problems first, then accounts near quota, expiring certificates, principals and statements', () => {
    const out = gridSection(grid()).text;
    const problems = out.indexOf('class="problems"');
    expect(problems).toBeGreaterThan(0);
    expect(problems).toBeLessThan(out.indexOf('<h3>Storage servers</h3>'));
    expect(text(out)).toContain('3 problems');
    expect(out).toMatch(/<li data-kind="server-down">storage server storage-02 at 127\.0\.0\.1:7402 is DOWN \(last announced 30s ago\)<\/li>/);
    expect(out).toContain('<li data-kind="near-quota">account client-full holds 92 % of its 195.3 KiB quota on one server</li>');
    expect(out).toContain('<li data-kind="certificate-expiring">client client-short: certificate expires in 2d</li>');
    expect(text(out)).toContain('client-full 195.3 KiB 180.7 KiB 92 %');
    expect(out).toContain('<h3>Certificates expiring within 7d</h3>');
    expect(text(out)).toContain('client client-short 2026-01-17 12:00:00 UTC in 2d');
    expect(text(out)).toContain('2 storage-server, 3 client (+1 revoked)');
    expect(text(out)).toContain('2 stored; last period p-0002: net +1500 units (fetched 60m ago)');
  });

  it('no problems: says so; nothing near quota or expiring; no clearinghouse configured', () => {
    const out = gridSection(grid({ servers: [server('storage-01')], nearQuota: [], expiring: [], statements: { clearinghouseConfigured: false, count: 0, last: null } })).text;
    expect(out).toContain('<p class="no-problems">No problems.</p>');
    expect(out).not.toContain('class="problems"');
    expect(text(out)).toContain('None at ≥ 90 % of the per-server quota.');
    expect(out).not.toContain('class="expiring"');
    expect(text(out)).toContain('No clearinghouse in the grid manager’s config.');
  });

  it('an expired certificate is marked expired', () => {
    const out = gridSection(grid({ expiring: [{ name: 'old', role: 'gateway', key: '00', certNotAfterMs: NOW - 3 * DAY, expired: true }] })).text;
    expect(out).toContain('<tr class="expired">');
    expect(text(out)).toContain('expired 3d ago');
    expect(out).toContain('data-kind="certificate-expired"');
  });
});

describe('status part: the clearinghouse', () => {
  it('grids, open disputes (the oldest listed, the rest counted), the open period totals and the last closed period', () => {
    const out = clearinghouseSection(clearinghouse()).text;
    expect(out).toContain('<h2>Clearinghouse</h2>');
    expect(text(out)).toContain('2 admitted, 1 suspended.');
    expect(text(out)).toContain('101 alpha active 1000 units 2');
    expect(out).toContain('<tr data-area-code="102" class="suspended">');
    expect(text(out)).toContain('#7 tx-7 101 → 102 counts differ 2h ago');
    expect(text(out)).toContain('and 3 more.');
    expect(out).toContain('<li data-kind="disputes-open">4 open disputes, the oldest opened 2h ago</li>');
    expect(text(out)).toMatch(/Transfers 9 Bytes 5\.0 MiB Units 42 Grid pairs 1 Records waiting for the other side 3/);
    expect(text(out)).toContain('Period p-0002 , 2026-01-13 12:00:00 UTC to 2026-01-14 12:00:00 UTC , closed 24h ago: 11 transfers, 2 grid statements.');
  });

  it('a fresh clearinghouse: no grids, no disputes, no closed period', () => {
    const out = clearinghouseSection(clearinghouse({ grids: [], disputes: { open: 0, oldest: [] }, lastPeriod: null, openPeriod: { fromMs: 0, bytes: 0, units: 0, transfers: 0, pairs: 0, pendingRecords: 0, records: 0 } })).text;
    expect(out).toContain('No problems.');
    expect(out).not.toContain('<table class="grids">');
    expect(text(out)).toContain('Open disputes None.');
    expect(text(out)).toContain('Since the start (no period closed yet)');
    expect(text(out)).toContain('Last closed period None yet.');
  });
});

describe('status part: escaping and errors', () => {
  it('escapes names, addresses and reasons from other parties', () => {
    const g = gridSection(grid({ servers: [server(EVIL, { state: 'down', error: EVIL })], nearQuota: [{ name: EVIL, account: '00', quotaBytes: 1, maxServerBytes: 1, bytesStored: 1, percent: 100 }] })).text;
    const c = clearinghouseSection(
      clearinghouse({
        grids: [{ areaCode: '103', name: EVIL, suspended: false, priceUnitsPerGib: 1, contactPoints: 0, admittedAtMs: NOW }],
        disputes: { open: 1, oldest: [{ id: 1, transferId: EVIL, exporter: EVIL, importer: '102', reason: EVIL, openedAtMs: NOW }] },
      }),
    ).text;
    const e = errorSection(EVIL, EVIL).text;
    for (const out of [g, c, e]) {
      expect(out).not.toContain('<img');
      expect(out).not.toContain('onerror="');
      expect(out).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;&#39;');
    }
    // Inside the problems list too (the problem messages embed the names).
    expect(c).toMatch(/<li data-kind="no-contact-point">grid 103 \(&#60;img/);
  });

  it('an unreachable service is one line in its own section; the others still render, in order', () => {
    const out = statusPart([
      { kind: 'error', title: 'Grid 101', message: 'grid manager at 127.0.0.1:1 is unreachable: connect ECONNREFUSED' },
      { kind: 'clearinghouse', report: clearinghouse() },
    ]).text;
    expect(out.startsWith('<div id="status">')).toBe(true);
    expect(out).toContain('<section class="status-section unavailable">\n<h2>Grid 101</h2>\n<p class="error" role="alert">grid manager at 127.0.0.1:1 is unreachable: connect ECONNREFUSED</p>');
    expect(out.indexOf('unavailable')).toBeLessThan(out.indexOf('<h2>Clearinghouse</h2>'));
  });

  it('no sections: nothing', () => {
    expect(statusPart([]).text).toBe('');
  });
});
