/**
 * The grid half of `intergrid status`: the grid manager's GetStatus plus a
 * direct look at every storage server (grpc.health.v1 and Stats as the
 * admin, both with a short deadline), turned into the report `--json` prints
 * and the list of problems that sets the exit code (docs/grid-manager.md "Status").
 */
import { securedClient, type Identity, type Peer } from '../../../libs/auth/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { connectGridManager, type GridManagerConnection } from '../../../libs/grid/index.js';
import { call, storageProto } from '../../../libs/rpc/index.js';
import type { StorageClient, Empty, StatsResponse__Output } from '../../../libs/rpc/proto-types.js';
import { checkHealth } from '../commands/health.js';
import { ago, bytesText, type Problem } from './problems.js';

type GridStatusInfo = Awaited<ReturnType<GridManagerConnection['getStatus']>>;

/** How long a storage server gets to answer its probes. */
export const SERVER_PROBE_MS = 2000;

export interface ServerReport {
  name: string;
  key: string;
  address: string | null;
  /** up = answers health SERVING; draining = NOT_SERVING; down = no answer; never-announced = no address. */
  state: 'up' | 'draining' | 'down' | 'never-announced';
  /** In the grid's signed directory (announced within the freshness window). */
  listed: boolean;
  lastSeenMs: number | null;
  certNotAfterMs: number;
  /** From the server itself (Stats); null when it did not answer. */
  sharesStored: number | null;
  bytesStored: number | null;
  availableBytes: number | null;
  /** From its latest usage report to the grid manager. */
  reportedBytes: number;
  reportedAtMs: number | null;
  /** Why it is not up (probe error), when it is not. */
  error?: string;
}

export interface GridReport {
  service: 'grid-manager';
  address: string;
  areaCode: string;
  health: string;
  checkedAtMs: number;
  directoryFreshnessMs: number;
  servers: ServerReport[];
  principals: Record<string, { active: number; revoked: number }>;
  nearQuotaRatio: number;
  nearQuota: { name: string; account: string; quotaBytes: number; maxServerBytes: number; bytesStored: number; percent: number }[];
  expiringWithinMs: number;
  expiring: { name: string; role: string; key: string; certNotAfterMs: number; expired: boolean }[];
  statements: { clearinghouseConfigured: boolean; count: number; last: { periodId: string; netUnits: number; fetchedAtMs: number } | null };
  problems: Problem[];
}

async function storageStats(server: Peer, identity: Identity): Promise<StatsResponse__Output> {
  const address = server.address;
  const client = securedClient<StorageClient>(storageProto().intergrid.storage.Storage, server, identity);
  try {
    return await call<Empty, StatsResponse__Output>(client, client.stats, {}, { peer: `storage server ${address}`, deadlineMs: SERVER_PROBE_MS });
  } finally {
    client.close();
  }
}

async function probeServer(s: GridStatusInfo['servers'][number], identity: Identity): Promise<ServerReport> {
  const base = {
    name: s.name,
    key: toHex(s.subject),
    address: s.address || null,
    listed: s.listed,
    lastSeenMs: s.lastSeenMs || null,
    certNotAfterMs: s.certNotAfterMs,
    reportedBytes: s.bytesStored,
    reportedAtMs: s.reportedAtMs || null,
  };
  const none = { sharesStored: null, bytesStored: null, availableBytes: null };
  if (!s.address) return { ...base, ...none, state: 'never-announced' };
  const [health, stats] = await Promise.allSettled([checkHealth(s.address, '', SERVER_PROBE_MS, s.subject), storageStats({ address: s.address, publicKey: s.subject }, identity)]);
  const space =
    stats.status === 'fulfilled'
      ? { sharesStored: Number(stats.value.shares), bytesStored: Number(stats.value.bytesStored), availableBytes: Number(stats.value.availableBytes) }
      : none;
  if (health.status === 'rejected') return { ...base, ...space, state: 'down', error: (health.reason as Error).message };
  return { ...base, ...space, state: health.value === 'SERVING' ? 'up' : 'draining', ...(health.value === 'SERVING' ? {} : { error: `health ${health.value}` }) };
}

/** Problems in a grid report, in the order the screen lists them. */
export function gridProblems(r: Omit<GridReport, 'problems'>): Problem[] {
  const out: Problem[] = [];
  if (r.health !== 'SERVING') out.push({ kind: 'service-not-serving', subject: r.address, message: `grid manager at ${r.address} reports ${r.health}` });
  for (const s of r.servers) {
    const seen = s.lastSeenMs ? `last announced ${ago(r.checkedAtMs - s.lastSeenMs)}` : 'never announced';
    if (s.state === 'never-announced') out.push({ kind: 'server-down', subject: s.name, message: `storage server ${s.name} has never announced an address` });
    else if (s.state === 'down') out.push({ kind: 'server-down', subject: s.name, message: `storage server ${s.name} at ${s.address} is DOWN (${seen})` });
    else if (s.state === 'draining') out.push({ kind: 'server-draining', subject: s.name, message: `storage server ${s.name} at ${s.address} is draining (not serving)` });
    else if (!s.listed) out.push({ kind: 'server-not-listed', subject: s.name, message: `storage server ${s.name} answers but is not in the directory (${seen})` });
  }
  for (const q of r.nearQuota) {
    out.push({ kind: 'near-quota', subject: q.name, message: `account ${q.name} holds ${q.percent} % of its ${bytesText(q.quotaBytes)} quota on one server` });
  }
  for (const c of r.expiring) {
    const left = c.certNotAfterMs - r.checkedAtMs;
    out.push({
      kind: c.expired ? 'certificate-expired' : 'certificate-expiring',
      subject: c.name,
      message: c.expired ? `${c.role} ${c.name}: certificate EXPIRED ${ago(-left)}` : `${c.role} ${c.name}: certificate expires in ${ago(left).replace(/ ago$/, '')}`,
    });
  }
  return out;
}

/**
 * Asks the grid manager at `address` (health, then GetStatus) and probes
 * every storage server it lists.
 * @throws UnavailableError when the grid manager does not answer; the error of GetStatus otherwise.
 */
export async function gridReport(address: string, identity: Identity, gridManagerKey: Uint8Array, expiringWithinMs: number, timeoutMs: number): Promise<GridReport> {
  const health = await checkHealth(address, '', timeoutMs, gridManagerKey);
  const gm = connectGridManager(address, identity, { gridManagerPublicKey: gridManagerKey, deadlineMs: timeoutMs });
  let st: GridStatusInfo;
  try {
    st = await gm.getStatus(expiringWithinMs);
  } finally {
    gm.close();
  }
  const servers = await Promise.all(st.servers.map((s) => probeServer(s, identity)));
  const body: Omit<GridReport, 'problems'> = {
    service: 'grid-manager',
    address,
    areaCode: st.areaCode,
    health,
    checkedAtMs: st.nowMs,
    directoryFreshnessMs: st.directoryFreshnessMs,
    servers,
    principals: Object.fromEntries(st.principals.map((p) => [p.role, { active: p.active, revoked: p.revoked }])),
    nearQuotaRatio: st.nearQuotaRatio,
    nearQuota: st.nearQuota.map((q) => ({
      name: q.name,
      account: toHex(q.account),
      quotaBytes: q.quotaBytes,
      maxServerBytes: q.maxServerBytes,
      bytesStored: q.bytesStored,
      percent: Math.floor((100 * q.maxServerBytes) / q.quotaBytes),
    })),
    expiringWithinMs: st.expiringWithinMs,
    expiring: st.expiring.map((e) => ({ name: e.name, role: e.role, key: toHex(e.subject), certNotAfterMs: e.certNotAfterMs, expired: e.certNotAfterMs < st.nowMs })),
    statements: { clearinghouseConfigured: st.clearinghouseConfigured, count: st.statements, last: st.lastStatement ?? null },
  };
  return { ...body, problems: gridProblems(body) };
}
