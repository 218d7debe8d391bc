/**
 * `intergrid grid approve|revoke|list|usage --admin ADMIN.json`: the grid
 * admin's commands, signed with the admin identity written by
 * initGridManager. The grid manager's address comes from admin.json, or
 * from --grid-manager when admin.json has none (a port-0 grid).
 */
import type { GridStatementBody } from '../../../libs/ledger/index.js';
import { fromHex, toHex } from '../../../libs/crypto/index.js';
import { encodeCertificateBase64 } from '../../../libs/auth/index.js';
import { ConfigError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { connectGridManager, encodeInvite, isGridRole, GRID_ROLES, type GridManagerConnection } from '../../../libs/grid/index.js';
import { loadAdminIdentity } from '../../grid-manager/index.js';

export interface AdminOptions {
  admin: string;
  gridManager?: string;
}

export async function withManager<T>(opts: AdminOptions, fn: (gm: GridManagerConnection) => Promise<T>): Promise<T> {
  const admin = loadAdminIdentity(opts.admin);
  const address = opts.gridManager ?? admin.gridManager.address;
  if (!address) throw new ConfigError(`${opts.admin} has no gridManager.address: pass --grid-manager HOST:PORT`);
  const gm = connectGridManager(address, admin.identity, { gridManagerPublicKey: admin.gridManager.publicKey });
  try {
    return await fn(gm);
  } finally {
    gm.close();
  }
}

function parseKey(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidArgumentError(`--key '${hex}' is not 64 lowercase hex digits (an Ed25519 public key)`);
  return fromHex(hex);
}

function parseBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError(`--quota '${text}' is not a byte count`);
  return Number(text);
}

export interface ApproveOptions extends AdminOptions {
  role: string;
  key: string;
  name?: string;
  quota?: string;
}

/** Prints the issued certificate (base64) on stdout. */
export async function gridApproveCommand(opts: ApproveOptions): Promise<void> {
  if (!isGridRole(opts.role)) throw new InvalidArgumentError(`--role '${opts.role}' is not one of ${GRID_ROLES.join(', ')}`);
  const role = opts.role;
  const subject = parseKey(opts.key);
  const quotaBytes = parseBytes(opts.quota);
  const cert = await withManager(opts, (gm) =>
    gm.approve({ role, subject, name: opts.name ?? `${role}-${opts.key.slice(0, 8)}`, ...(quotaBytes !== undefined ? { quotaBytes } : {}) }),
  );
  process.stdout.write(encodeCertificateBase64(cert) + '\n');
}

export async function gridRevokeCommand(opts: AdminOptions & { key: string }): Promise<void> {
  const subject = parseKey(opts.key);
  await withManager(opts, (gm) => gm.revoke(subject));
  process.stdout.write(`revoked ${opts.key}\n`);
}

export async function gridListCommand(opts: AdminOptions & { json?: boolean }): Promise<void> {
  const principals = await withManager(opts, (gm) => gm.listPrincipals());
  const rows = principals.map((p) => ({
    role: p.role,
    name: p.name,
    key: toHex(p.subject),
    revoked: p.revoked,
    certNotAfter: p.certNotAfterMs ? new Date(p.certNotAfterMs).toISOString() : null,
    address: p.address || null,
    lastSeen: p.lastSeenMs ? new Date(p.lastSeenMs).toISOString() : null,
    quotaBytes: p.quotaBytes,
  }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  for (const r of rows) {
    process.stdout.write(
      [r.role.padEnd(14), r.name.padEnd(20), r.key, r.revoked ? 'REVOKED' : 'active', r.address ?? '-', r.quotaBytes ? `quota=${r.quotaBytes}` : ''].join('  ').trimEnd() + '\n',
    );
  }
}

/**
 * Prints per-account storage (from the storage servers' reports) and
 * long-distance transfers per (account, remote grid) (from the gateway's NATS
 * usage events). --json: `{ accounts: [...], transfers: [...] }`.
 */
export async function gridUsageCommand(opts: AdminOptions & { json?: boolean }): Promise<void> {
  const usage = await withManager(opts, (gm) => gm.getUsageSummary());
  const accounts = usage.accounts.map((a) => ({ account: toHex(a.account), name: a.name, bytesStored: a.bytesStored, shares: a.shares, quotaBytes: a.quotaBytes }));
  const transfers = usage.transfers.map((t) => ({
    account: toHex(t.account),
    name: t.name,
    remoteAreaCode: t.remoteAreaCode,
    bytes: t.bytes,
    transfers: t.transfers,
    units: t.units,
  }));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ accounts, transfers }, null, 2) + '\n');
    return;
  }
  process.stdout.write('storage per account\n');
  for (const r of accounts) {
    process.stdout.write(`  ${r.name.padEnd(20)}  ${r.account}  ${r.bytesStored} bytes  ${r.shares} shares  quota=${r.quotaBytes || 'unlimited'}\n`);
  }
  process.stdout.write('long-distance transfers per account and remote grid\n');
  if (transfers.length === 0) process.stdout.write('  (none)\n');
  for (const t of transfers) {
    process.stdout.write(
      `  ${(t.name || t.account.slice(0, 16)).padEnd(20)}  ${t.account}  from ${t.remoteAreaCode.padEnd(8)}  ${t.bytes} bytes  ${t.transfers} transfers  ${t.units} units\n`,
    );
  }
}

/**
 * Prints the settlement statements the grid manager fetched from the
 * clearinghouse and verified under the clearinghouse key in its config: per
 * period, each counterpart grid's line and the net balance (+ owed to this
 * grid, − owed by it). --json: `[{ periodId, netUnits, fetchedAtMs, statement }]`
 * with the signed statement body parsed (null when the grid had no traffic).
 */
export async function gridStatementsCommand(opts: AdminOptions & { json?: boolean }): Promise<void> {
  const list = await withManager(opts, (gm) => gm.listStatements());
  const rows = list.map((s) => ({
    periodId: s.periodId,
    netUnits: s.netUnits,
    fetchedAtMs: s.fetchedAtMs,
    statement: s.body.length > 0 ? (JSON.parse(new TextDecoder().decode(s.body)) as GridStatementBody) : null,
  }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) process.stdout.write('no statements yet (the clearinghouse has closed no period, or the grid manager has no clearinghouse in its config)\n');
  for (const r of rows) {
    process.stdout.write(`period ${r.periodId}: net ${r.netUnits > 0 ? '+' : ''}${r.netUnits} units (${r.netUnits > 0 ? 'owed to this grid' : r.netUnits < 0 ? 'owed by this grid' : 'settled'})\n`);
    for (const l of r.statement?.lines ?? []) {
      process.stdout.write(
        `  with ${l.counterpart.padEnd(8)}  exported ${l.bytesExported} bytes (+${l.unitsCredited})  imported ${l.bytesImported} bytes (-${l.unitsDebited})  net ${l.netUnits}\n`,
      );
    }
  }
}

const INVITE_ROLES = { storage: 'storage-server', 'storage-server': 'storage-server', client: 'client', gateway: 'gateway', 'contact-point': 'contact-point' } as const;

/** '24h', '30m', '7d', '90s' → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`${what} '${text}' is not a duration like 30m, 24h or 7d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export interface InviteOptions extends AdminOptions {
  role: string;
  expires?: string;
  name?: string;
  quota?: string;
}

/** Prints a one-time invite code (stdout) for `intergrid join CODE --dir DIR`; its expiry goes to stderr. */
export async function gridInviteCommand(opts: InviteOptions): Promise<void> {
  const role = INVITE_ROLES[opts.role as keyof typeof INVITE_ROLES] as (typeof INVITE_ROLES)[keyof typeof INVITE_ROLES] | undefined;
  if (!role) throw new InvalidArgumentError(`--role '${opts.role}' is not one of storage, client, gateway, contact-point (admins are approved with grid approve)`);
  const expiresInMs = parseDuration(opts.expires ?? '24h', '--expires');
  const quotaBytes = parseBytes(opts.quota);
  const admin = loadAdminIdentity(opts.admin);
  const address = opts.gridManager ?? admin.gridManager.address;
  if (!address) throw new ConfigError(`${opts.admin} has no gridManager.address: pass --grid-manager HOST:PORT`);
  const inv = await withManager(opts, (gm) => gm.createInvite({ role, expiresInMs, ...(opts.name ? { name: opts.name } : {}), ...(quotaBytes !== undefined ? { quotaBytes } : {}) }));
  process.stdout.write(encodeInvite({ secret: inv.secret, gridManagerKey: inv.gridManagerKey, role, areaCode: inv.areaCode, address }) + '\n');
  process.stderr.write(`one-time ${role} invite for grid ${inv.areaCode}, valid until ${new Date(inv.expiresAtMs).toISOString()}: intergrid join CODE --dir DIR\n`);
}
