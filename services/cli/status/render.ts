/**
 * `intergrid status` for people: one screen, columns aligned, problems in
 * capitals (DOWN, NEAR QUOTA, EXPIRES in 3d). `--json` prints the report
 * objects themselves instead (grid-report.ts, clearinghouse-report.ts).
 */
import type { ClearinghouseReport } from './clearinghouse-report.js';
import type { GridReport } from './grid-report.js';
import { ago, bytesText, type Problem } from './problems.js';

/** Left-aligned columns, two spaces apart, each row indented by `indent`. */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const left = (ms: number): string => ago(ms).replace(/ ago$/, '');

function footer(problems: Problem[]): string[] {
  if (problems.length === 0) return ['no problems'];
  return [`${problems.length} problem${problems.length === 1 ? '' : 's'}:`, ...problems.map((p) => `  - ${p.message}`)];
}

export function renderGrid(r: GridReport): string {
  const out: string[] = [];
  out.push(`grid ${r.areaCode}  grid manager ${r.address}  ${r.health}  ${when(r.checkedAtMs)}`);
  const up = r.servers.filter((s) => s.state === 'up').length;
  const listed = r.servers.filter((s) => s.listed).length;
  out.push(`storage servers  ${r.servers.length} approved, ${up} up, ${listed} in the directory (announced within ${left(r.directoryFreshnessMs)})`);
  if (r.servers.length > 0) {
    const state = { up: 'up', draining: 'DRAINING', down: 'DOWN', 'never-announced': 'NEVER ANNOUNCED' } as const;
    out.push(
      ...table([
        ['NAME', 'ADDRESS', 'STATE', 'ANNOUNCED', 'STORED', 'FREE', ''],
        ...r.servers.map((s) => [
          s.name,
          s.address ?? '-',
          state[s.state],
          s.lastSeenMs ? ago(r.checkedAtMs - s.lastSeenMs) : '-',
          // Live from the server; else its last usage report.
          s.bytesStored !== null ? bytesText(s.bytesStored) : s.reportedAtMs ? `${bytesText(s.reportedBytes)} (reported)` : '-',
          s.availableBytes !== null ? bytesText(s.availableBytes) : '-',
          s.state === 'up' && !s.listed ? 'NOT IN DIRECTORY' : '',
        ]),
      ]),
    );
  }
  const roles = Object.entries(r.principals).map(([role, n]) => `${n.active} ${role}${n.revoked ? ` (+${n.revoked} revoked)` : ''}`);
  out.push(`principals       ${roles.join(', ')}`);
  out.push(`near quota       ${r.nearQuota.length} account${r.nearQuota.length === 1 ? '' : 's'} at ≥ ${Math.round(r.nearQuotaRatio * 100)} % of the per-server quota`);
  out.push(...table(r.nearQuota.map((q) => [q.name, `${q.percent} % of ${bytesText(q.quotaBytes)} on one server`, 'NEAR QUOTA'])));
  out.push(`certificates     ${r.expiring.length} expiring within ${left(r.expiringWithinMs)}`);
  out.push(
    ...table(
      r.expiring.map((c) => [
        c.role,
        c.name,
        c.expired ? `EXPIRED ${ago(r.checkedAtMs - c.certNotAfterMs)}` : `EXPIRES in ${left(c.certNotAfterMs - r.checkedAtMs)}`,
        `(${day(c.certNotAfterMs)})`,
      ]),
    ),
  );
  const st = r.statements;
  out.push(
    `statements       ${
      !st.clearinghouseConfigured
        ? 'no clearinghouse in the config'
        : st.last
          ? `${st.count} stored, last period ${st.last.periodId}: net ${st.last.netUnits > 0 ? '+' : ''}${st.last.netUnits} units (fetched ${ago(r.checkedAtMs - st.last.fetchedAtMs)})`
          : 'none fetched yet'
    }`,
  );
  out.push(...footer(r.problems));
  return out.join('\n') + '\n';
}

export function renderClearinghouse(r: ClearinghouseReport): string {
  const out: string[] = [];
  out.push(`clearinghouse ${r.address}  ${r.health}  ${when(r.checkedAtMs)}`);
  out.push(`grids            ${r.grids.length} admitted, ${r.grids.filter((g) => g.suspended).length} suspended`);
  if (r.grids.length > 0) {
    out.push(
      ...table([
        ['AREA', 'NAME', 'STATE', 'PRICE/GiB', 'CONTACT POINTS'],
        ...r.grids.map((g) => [g.areaCode, g.name, g.suspended ? 'SUSPENDED' : 'active', String(g.priceUnitsPerGib), g.contactPoints === 0 && !g.suspended ? '0 NONE' : String(g.contactPoints)]),
      ]),
    );
  }
  out.push(`disputes         ${r.disputes.open} open`);
  out.push(...table(r.disputes.oldest.map((d) => [`#${d.id}`, d.reason, `${d.exporter}→${d.importer}`, `opened ${ago(r.checkedAtMs - d.openedAtMs)}`])));
  const p = r.openPeriod;
  out.push(
    `open period      ${p.fromMs ? `since ${when(p.fromMs)}` : 'since the start (no period closed yet)'}: ${p.transfers} transfers, ${bytesText(p.bytes)}, ${p.units} units over ${p.pairs} grid pair${p.pairs === 1 ? '' : 's'}; ${p.pendingRecords} records waiting for the other side`,
  );
  const l = r.lastPeriod;
  out.push(`last closed      ${l ? `period ${l.id} closed ${ago(r.checkedAtMs - l.closedAtMs)}: ${l.transfers} transfers, ${l.grids} grid statements` : 'none yet'}`);
  out.push(...footer(r.problems));
  return out.join('\n') + '\n';
}
