/**
 * The dashboard's status part (docs/web.md "Dashboard"): the facts of
 * `intergrid status` for each --admin identity, as HTML tables rendered on
 * the server, so they read without a script. Pure functions of the report
 * objects (services/cli/status/grid-report.ts, clearinghouse-report.ts);
 * every name, address and reason is escaped (other parties choose them).
 */
import type { ClearinghouseReport } from '../cli/status/clearinghouse-report.js';
import type { GridReport, ServerReport } from '../cli/status/grid-report.js';
import { ago, bytesText, type Problem } from '../cli/status/problems.js';
import { html, type Html } from './html.js';

/** One --admin identity's section: its report, or why there is none. */
export type StatusSection =
  | { kind: 'grid-manager'; report: GridReport }
  | { kind: 'clearinghouse'; report: ClearinghouseReport }
  /** The service did not answer (or refused): `title` names it, `message` is one line. */
  | { kind: 'error'; title: string; message: string };

const utc = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const time = (ms: number): Html => html`<time datetime="${new Date(ms).toISOString()}">${utc(ms)}</time>`;
const left = (ms: number): string => ago(ms).replace(/ ago$/, '');
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function problemsBlock(problems: Problem[]): Html {
  if (problems.length === 0) return html`<p class="no-problems">No problems.</p>`;
  return html`<div class="problems" role="alert">
<h3>${plural(problems.length, 'problem')}</h3>
<ul>${problems.map((p) => html`<li data-kind="${p.kind}">${p.message}</li>`)}</ul>
</div>`;
}

const SERVER_STATE: Record<ServerReport['state'], string> = { up: 'up', draining: 'draining', down: 'down', 'never-announced': 'never announced' };

function serverRow(s: ServerReport, checkedAtMs: number): Html {
  // Live from the server; else its last usage report to the grid manager.
  const stored = s.bytesStored !== null ? bytesText(s.bytesStored) : s.reportedAtMs ? `${bytesText(s.reportedBytes)} (reported)` : '–';
  const note = s.state === 'up' && !s.listed ? 'not in the directory' : (s.error ?? '');
  return html`<tr class="server state-${s.state}" data-server="${s.name}">
<td>${s.name}</td><td><code>${s.address ?? '–'}</code></td><td class="state">${SERVER_STATE[s.state]}</td>
<td>${s.lastSeenMs ? ago(checkedAtMs - s.lastSeenMs) : '–'}</td><td class="num">${stored}</td>
<td class="num">${s.availableBytes !== null ? bytesText(s.availableBytes) : '–'}</td><td class="num">${s.sharesStored ?? '–'}</td><td class="note">${note}</td>
</tr>`;
}

/** A grid manager's section: servers, accounts near quota, expiring certificates, statements. */
export function gridSection(r: GridReport): Html {
  const up = r.servers.filter((s) => s.state === 'up').length;
  const listed = r.servers.filter((s) => s.listed).length;
  const roles = Object.entries(r.principals).map(([role, n]) => `${n.active} ${role}${n.revoked ? ` (+${n.revoked} revoked)` : ''}`);
  const st = r.statements;
  const statements = !st.clearinghouseConfigured
    ? 'No clearinghouse in the grid manager’s config.'
    : st.last
      ? `${st.count} stored; last period ${st.last.periodId}: net ${st.last.netUnits > 0 ? '+' : ''}${st.last.netUnits} units (fetched ${ago(r.checkedAtMs - st.last.fetchedAtMs)}).`
      : 'None fetched yet.';
  return html`<section class="status-section grid" data-area-code="${r.areaCode}">
<h2>Grid ${r.areaCode}</h2>
<p class="service">Grid manager <code>${r.address}</code>: <span class="health">${r.health}</span>, checked ${time(r.checkedAtMs)}</p>
${problemsBlock(r.problems)}
<h3>Storage servers</h3>
<p>${r.servers.length} approved, ${up} up, ${listed} in the directory (announced within ${left(r.directoryFreshnessMs)}).</p>
${
  r.servers.length === 0
    ? ''
    : html`<table class="servers">
<thead><tr><th>Name</th><th>Address</th><th>State</th><th>Last seen</th><th>Stored</th><th>Available</th><th>Shares</th><th></th></tr></thead>
<tbody>
${r.servers.map((s) => serverRow(s, r.checkedAtMs))}
</tbody>
</table>`
}
<h3>Accounts near quota</h3>
${
  r.nearQuota.length === 0
    ? html`<p>None at ≥ ${Math.round(r.nearQuotaRatio * 100)} % of the per-server quota.</p>`
    : html`<table class="near-quota">
<thead><tr><th>Account</th><th>Quota per server</th><th>Most on one server</th><th>Used</th></tr></thead>
<tbody>
${r.nearQuota.map((q) => html`<tr data-account="${q.account}"><td>${q.name}</td><td class="num">${bytesText(q.quotaBytes)}</td><td class="num">${bytesText(q.maxServerBytes)}</td><td class="num">${q.percent} %</td></tr>`)}
</tbody>
</table>`
}
<h3>Certificates expiring within ${left(r.expiringWithinMs)}</h3>
${
  r.expiring.length === 0
    ? html`<p>None.</p>`
    : html`<table class="expiring">
<thead><tr><th>Role</th><th>Name</th><th>Expires</th><th></th></tr></thead>
<tbody>
${r.expiring.map(
  (c) =>
    html`<tr${c.expired ? html` class="expired"` : ''}><td>${c.role}</td><td>${c.name}</td><td>${time(c.certNotAfterMs)}</td><td>${
      c.expired ? `expired ${ago(r.checkedAtMs - c.certNotAfterMs)}` : `in ${left(c.certNotAfterMs - r.checkedAtMs)}`
    }</td></tr>`,
)}
</tbody>
</table>`
}
<h3>Principals</h3>
<p>${roles.length > 0 ? roles.join(', ') : 'None.'}</p>
<h3>Settlement statements</h3>
<p>${statements}</p>
</section>`;
}

/** The clearinghouse's section: grids, open disputes, the open period's totals, the last closed period. */
export function clearinghouseSection(r: ClearinghouseReport): Html {
  const p = r.openPeriod;
  const l = r.lastPeriod;
  const more = r.disputes.open - r.disputes.oldest.length;
  return html`<section class="status-section clearinghouse">
<h2>Clearinghouse</h2>
<p class="service">Clearinghouse <code>${r.address}</code>: <span class="health">${r.health}</span>, checked ${time(r.checkedAtMs)}</p>
${problemsBlock(r.problems)}
<h3>Grids</h3>
<p>${r.grids.length} admitted, ${r.grids.filter((g) => g.suspended).length} suspended.</p>
${
  r.grids.length === 0
    ? ''
    : html`<table class="grids">
<thead><tr><th>Area code</th><th>Name</th><th>State</th><th>Price per GiB</th><th>Contact points</th><th>Admitted</th></tr></thead>
<tbody>
${r.grids.map(
  (g) =>
    html`<tr data-area-code="${g.areaCode}"${g.suspended ? html` class="suspended"` : ''}><td>${g.areaCode}</td><td>${g.name}</td><td>${g.suspended ? 'suspended' : 'active'}</td><td class="num">${g.priceUnitsPerGib} units</td><td class="num">${g.contactPoints}</td><td>${time(g.admittedAtMs)}</td></tr>`,
)}
</tbody>
</table>`
}
<h3>Open disputes</h3>
${
  r.disputes.open === 0
    ? html`<p>None.</p>`
    : html`<table class="disputes">
<thead><tr><th>Dispute</th><th>Transfer</th><th>Exporter → importer</th><th>Reason</th><th>Opened</th></tr></thead>
<tbody>
${r.disputes.oldest.map(
  (d) => html`<tr><td>#${d.id}</td><td><code>${d.transferId}</code></td><td>${d.exporter} → ${d.importer}</td><td>${d.reason}</td><td>${ago(r.checkedAtMs - d.openedAtMs)}</td></tr>`,
)}
</tbody>
</table>
${more > 0 ? html`<p>and ${more} more.</p>` : ''}`
}
<h3>Open period</h3>
<table class="open-period">
<tbody>
<tr><th>Since</th><td>${p.fromMs ? time(p.fromMs) : 'the start (no period closed yet)'}</td></tr>
<tr><th>Transfers</th><td class="num">${p.transfers}</td></tr>
<tr><th>Bytes</th><td class="num">${bytesText(p.bytes)}</td></tr>
<tr><th>Units</th><td class="num">${p.units}</td></tr>
<tr><th>Grid pairs</th><td class="num">${p.pairs}</td></tr>
<tr><th>Records waiting for the other side</th><td class="num">${p.pendingRecords}</td></tr>
</tbody>
</table>
<h3>Last closed period</h3>
<p>${l ? html`Period <code>${l.id}</code>, ${time(l.fromMs)} to ${time(l.toMs)}, closed ${ago(r.checkedAtMs - l.closedAtMs)}: ${plural(l.transfers, 'transfer')}, ${plural(l.grids, 'grid statement')}.` : 'None yet.'}</p>
</section>`;
}

/** A section whose service gave no report: its name and the one-line reason. */
export function errorSection(title: string, message: string): Html {
  return html`<section class="status-section unavailable">
<h2>${title}</h2>
<p class="error" role="alert">${message}</p>
</section>`;
}

/** Every section in order, inside <div id="status">; nothing when there are none. */
export function statusPart(sections: readonly StatusSection[]): Html {
  if (sections.length === 0) return html``;
  return html`<div id="status">
${sections.map((s) => (s.kind === 'grid-manager' ? gridSection(s.report) : s.kind === 'clearinghouse' ? clearinghouseSection(s.report) : errorSection(s.title, s.message)))}
</div>`;
}
