/**
 * The clearinghouse half of `intergrid status`: health, admitted grids, open
 * disputes, the open period's running totals and the last closed period
 * (docs/clearinghouse.md "Status"), all read with the operator's RPCs.
 */
import type { Identity } from '../../../libs/auth/index.js';
import { connectClearinghouse, connectLedger } from '../../../libs/federation/index.js';
import { checkHealth } from '../commands/health.js';
import { ago, type Problem } from './problems.js';

/** Open disputes listed by name (the oldest); the rest are counted. */
export const DISPUTES_LISTED = 3;

export interface ClearinghouseReport {
  service: 'clearinghouse';
  address: string;
  health: string;
  checkedAtMs: number;
  grids: { areaCode: string; name: string; suspended: boolean; priceUnitsPerGib: number; contactPoints: number; admittedAtMs: number }[];
  disputes: { open: number; oldest: { id: number; transferId: string; exporter: string; importer: string; reason: string; openedAtMs: number }[] };
  openPeriod: { fromMs: number; bytes: number; units: number; transfers: number; pairs: number; pendingRecords: number; records: number };
  lastPeriod: { id: string; fromMs: number; toMs: number; closedAtMs: number; grids: number; transfers: number } | null;
  problems: Problem[];
}

export function clearinghouseProblems(r: Omit<ClearinghouseReport, 'problems'>): Problem[] {
  const out: Problem[] = [];
  if (r.health !== 'SERVING') out.push({ kind: 'service-not-serving', subject: r.address, message: `clearinghouse at ${r.address} reports ${r.health}` });
  for (const g of r.grids) {
    // An active grid without a registered contact point does not resolve: long-distance reads of it fail.
    if (!g.suspended && g.contactPoints === 0) out.push({ kind: 'no-contact-point', subject: g.areaCode, message: `grid ${g.areaCode} (${g.name}) has no contact point registered` });
  }
  if (r.disputes.open > 0) {
    const oldest = r.disputes.oldest[0];
    out.push({
      kind: 'disputes-open',
      subject: String(r.disputes.open),
      message: `${r.disputes.open} open dispute${r.disputes.open === 1 ? '' : 's'}${oldest ? `, the oldest opened ${ago(r.checkedAtMs - oldest.openedAtMs)}` : ''}`,
    });
  }
  return out;
}

/**
 * Asks the clearinghouse at `address`.
 * @throws UnavailableError when it does not answer; the RPC's error otherwise (e.g. PERMISSION_DENIED).
 */
export async function clearinghouseReport(address: string, identity: Identity, clearinghouseKey: Uint8Array, timeoutMs: number, now: () => number): Promise<ClearinghouseReport> {
  const health = await checkHealth(address, '', timeoutMs, clearinghouseKey);
  const ch = connectClearinghouse(address, identity, { clearinghousePublicKey: clearinghouseKey, deadlineMs: timeoutMs });
  const ledger = connectLedger(address, identity, { clearinghousePublicKey: clearinghouseKey, deadlineMs: timeoutMs });
  try {
    const [grids, disputes, snapshot, periods] = await Promise.all([ch.listGrids(), ledger.listDisputes(false), ledger.getLedger(), ledger.listPeriods()]);
    const open = disputes.filter((d) => d.state === 'open').sort((a, b) => a.openedAtMs - b.openedAtMs || a.id - b.id);
    const last = periods[periods.length - 1];
    const body: Omit<ClearinghouseReport, 'problems'> = {
      service: 'clearinghouse',
      address,
      health,
      checkedAtMs: now(),
      grids: grids.map((g) => ({ areaCode: g.areaCode, name: g.name, suspended: g.suspended, priceUnitsPerGib: g.priceUnitsPerGib, contactPoints: g.contactPoints, admittedAtMs: g.admittedAtMs })),
      disputes: {
        open: open.length,
        oldest: open.slice(0, DISPUTES_LISTED).map((d) => ({ id: d.id, transferId: d.transferId, exporter: d.exporter, importer: d.importer, reason: d.reason, openedAtMs: d.openedAtMs })),
      },
      openPeriod: {
        fromMs: snapshot.openFromMs,
        bytes: snapshot.pairs.reduce((n, p) => n + p.bytes, 0),
        units: snapshot.pairs.reduce((n, p) => n + p.units, 0),
        transfers: snapshot.pairs.reduce((n, p) => n + p.transfers, 0),
        pairs: snapshot.pairs.length,
        pendingRecords: snapshot.pendingRecords,
        records: snapshot.records,
      },
      lastPeriod: last ? { id: last.id, fromMs: last.fromMs, toMs: last.toMs, closedAtMs: last.closedAtMs, grids: last.grids, transfers: last.transfers } : null,
    };
    return { ...body, problems: clearinghouseProblems(body) };
  } finally {
    ch.close();
    ledger.close();
  }
}
