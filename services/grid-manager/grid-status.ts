/**
 * What `intergrid status` and the grid manager's gauges report
 * (docs/grid-manager.md "Status"): the one place that decides when a storage
 * server counts as listed, an account as near its quota and a certificate as
 * about to expire, so the RPC (GetStatus) and /metrics never disagree.
 */
import { toHex } from '../../libs/crypto/index.js';
import { GRID_ROLES, type GridRole, type ServerStatusInfo } from '../../libs/grid/index.js';
import type { PrincipalStore } from './principal-store.js';
import type { StatementStore, StoredStatement } from './statement-store.js';
import type { UsageStore } from './usage-store.js';

/** An account is near its quota when it holds this share of it on one server. */
export const NEAR_QUOTA_RATIO = 0.9;
/** Certificates expiring within this are listed by default. */
export const DEFAULT_EXPIRING_WITHIN_MS = 7 * 86_400_000;

export interface QuotaStatusRecord {
  account: Uint8Array;
  name: string;
  /** Per storage server. */
  quotaBytes: number;
  /** The most this account holds on one server. */
  maxServerBytes: number;
  bytesStored: number;
}

export interface ExpiringRecord {
  role: GridRole;
  subject: Uint8Array;
  name: string;
  /** May be in the past: expired and not revoked. */
  certNotAfterMs: number;
}

export interface GridStatusReport {
  areaCode: string;
  nowMs: number;
  directoryFreshnessMs: number;
  /** Approved, unrevoked storage servers, by name. */
  servers: ServerStatusInfo[];
  /** Every grid role, approved-and-active and revoked counts. */
  principals: { role: GridRole; active: number; revoked: number }[];
  nearQuotaRatio: number;
  nearQuota: QuotaStatusRecord[];
  expiringWithinMs: number;
  /** Soonest first. */
  expiring: ExpiringRecord[];
  clearinghouseConfigured: boolean;
  statements: number;
  lastStatement?: StoredStatement;
}

export interface GridStatusSources {
  areaCode: string;
  directoryFreshnessMs: number;
  clearinghouseConfigured: boolean;
  principals: PrincipalStore;
  usage: UsageStore;
  statements: StatementStore;
}

/** Reads the stores once and derives every status fact at `now`. */
export async function gridStatus(src: GridStatusSources, now: number, expiringWithinMs = DEFAULT_EXPIRING_WITHIN_MS): Promise<GridStatusReport> {
  const [all, perServer, perAccount, statements] = await Promise.all([src.principals.list(), src.usage.perServer(), src.usage.maxPerServer(), src.statements.list()]);
  const reports = new Map(perServer.map((r) => [toHex(r.server), r]));
  const usage = new Map(perAccount.map((r) => [toHex(r.account), r]));
  const active = all.filter((p) => !p.revoked);

  const servers = active
    .filter((p) => p.role === 'storage-server')
    .map((p): ServerStatusInfo => {
      const r = reports.get(toHex(p.subject));
      const lastSeenMs = p.lastSeenMs ?? 0;
      return {
        name: p.name,
        subject: p.subject,
        address: p.address ?? '',
        lastSeenMs,
        // Same rule as PrincipalStore.directoryServers.
        listed: p.address !== null && lastSeenMs >= now - src.directoryFreshnessMs && p.certNotAfterMs >= now,
        certNotAfterMs: p.certNotAfterMs,
        bytesStored: r?.bytesStored ?? 0,
        shares: r?.shares ?? 0,
        reportedAtMs: r?.atMs ?? 0,
      };
    });

  const principals = GRID_ROLES.map((role) => ({
    role,
    active: active.filter((p) => p.role === role).length,
    revoked: all.filter((p) => p.role === role && p.revoked).length,
  }));

  const nearQuota: QuotaStatusRecord[] = [];
  for (const p of active) {
    if (p.role !== 'client' || p.quotaBytes <= 0) continue;
    const u = usage.get(toHex(p.subject));
    if (!u || u.maxServerBytes < NEAR_QUOTA_RATIO * p.quotaBytes) continue;
    nearQuota.push({ account: p.subject, name: p.name, quotaBytes: p.quotaBytes, maxServerBytes: u.maxServerBytes, bytesStored: u.bytesStored });
  }
  nearQuota.sort((a, b) => b.maxServerBytes / b.quotaBytes - a.maxServerBytes / a.quotaBytes);

  // certNotAfterMs 0 = unknown (the admin key registered from the config at start).
  const expiring = active
    .filter((p) => p.certNotAfterMs > 0 && p.certNotAfterMs <= now + expiringWithinMs)
    .map((p): ExpiringRecord => ({ role: p.role, subject: p.subject, name: p.name, certNotAfterMs: p.certNotAfterMs }))
    .sort((a, b) => a.certNotAfterMs - b.certNotAfterMs);

  const last = statements[statements.length - 1];
  return {
    areaCode: src.areaCode,
    nowMs: now,
    directoryFreshnessMs: src.directoryFreshnessMs,
    servers,
    principals,
    nearQuotaRatio: NEAR_QUOTA_RATIO,
    nearQuota,
    expiringWithinMs,
    expiring,
    clearinghouseConfigured: src.clearinghouseConfigured,
    statements: statements.length,
    ...(last ? { lastStatement: last } : {}),
  };
}

/**
 * `gridStatus` at most once per `ttlMs`: the /metrics gauges all read one
 * report per scrape instead of querying the stores once per gauge. The TTL
 * runs on `clock` (monotonic by default), so a frozen test clock passed as
 * `now` never freezes the gauges.
 */
export function cachedGridStatus(src: GridStatusSources, now: () => number, ttlMs = 1000, clock: () => number = () => performance.now()): () => Promise<GridStatusReport> {
  let cached: { at: number; report: Promise<GridStatusReport> } | undefined;
  return () => {
    const t = clock();
    if (!cached || t - cached.at >= ttlMs) {
      const report = gridStatus(src, now());
      cached = { at: t, report };
      // A failed read is not cached: the next scrape tries again.
      report.catch(() => {
        if (cached?.report === report) cached = undefined;
      });
    }
    return cached.report;
  };
}
