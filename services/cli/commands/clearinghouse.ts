/**
 * `intergrid clearinghouse ...`: the clearinghouse operator's commands,
 * signed with the operator identity written by initClearinghouse
 * (admin.json). The clearinghouse address comes from admin.json, or from
 * --clearinghouse when admin.json has none (a port-0 clearinghouse).
 */
import { encodeCertificateBase64 } from '../../../libs/auth/index.js';
import { isAreaCode } from '../../../libs/caps/index.js';
import { fromHex, toHex } from '../../../libs/crypto/index.js';
import { ConfigError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { connectClearinghouse, encodeGridInvite, type ClearinghouseConnection, type GridInfo } from '../../../libs/federation/index.js';
import { initClearinghouse, loadClearinghouseAdmin, connectLedger, type LedgerConnection, type DisputeInfo } from '../../clearinghouse/index.js';
import { openStatement, type GridStatementBody, type SummaryBody } from '../../../libs/ledger/index.js';
import { parseDuration } from './grid.js';

export interface OperatorOptions {
  admin: string;
  clearinghouse?: string;
}

async function withClearinghouse<T>(opts: OperatorOptions, fn: (ch: ClearinghouseConnection) => Promise<T>): Promise<T> {
  const admin = loadClearinghouseAdmin(opts.admin);
  const address = opts.clearinghouse ?? admin.clearinghouse.address;
  if (!address) throw new ConfigError(`${opts.admin} has no clearinghouse.address: pass --clearinghouse HOST:PORT`);
  const ch = connectClearinghouse(address, admin.identity, { clearinghousePublicKey: admin.clearinghouse.publicKey });
  try {
    return await fn(ch);
  } finally {
    ch.close();
  }
}

async function withLedger<T>(opts: OperatorOptions, fn: (l: LedgerConnection, chKey: Uint8Array) => Promise<T>): Promise<T> {
  const admin = loadClearinghouseAdmin(opts.admin);
  const address = opts.clearinghouse ?? admin.clearinghouse.address;
  if (!address) throw new ConfigError(`${opts.admin} has no clearinghouse.address: pass --clearinghouse HOST:PORT`);
  const l = connectLedger(address, admin.identity);
  try {
    return await fn(l, admin.clearinghouse.publicKey);
  } finally {
    l.close();
  }
}

function parseKey(flag: string, hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidArgumentError(`${flag} '${hex}' is not 64 lowercase hex digits (an Ed25519 public key)`);
  return fromHex(hex);
}

function parseAreaCode(text: string): string {
  if (!isAreaCode(text)) throw new InvalidArgumentError(`--area-code '${text}' is not 3–8 decimal digits`);
  return text;
}

function parseCount(flag: string, text: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError(`${flag} '${text}' is not a non-negative integer`);
  return Number(text);
}

function row(g: GridInfo) {
  return {
    areaCode: g.areaCode,
    name: g.name,
    gridManagerKey: toHex(g.gridManagerPublicKey),
    suspended: g.suspended,
    priceUnitsPerGib: g.priceUnitsPerGib,
    admittedAt: new Date(g.admittedAtMs).toISOString(),
    contactPoints: g.contactPoints,
  };
}

/** `clearinghouse init --dir D --listen HOST:PORT`: prints the config path (then the admin identity path). */
export function clearinghouseInitCommand(opts: { dir: string; listen: string }): Promise<void> {
  const r = initClearinghouse(opts.dir, { listen: opts.listen });
  process.stdout.write(`${r.configPath}\n${r.adminIdentityPath}\n`);
  return Promise.resolve();
}

/** Prints the admitted grid's area code on stdout (so scripts can capture it). */
export async function clearinghouseAdmitCommand(
  opts: OperatorOptions & { gridManagerKey: string; name: string; areaCode?: string; price?: string },
): Promise<void> {
  const gridManagerPublicKey = parseKey('--grid-manager-key', opts.gridManagerKey);
  const areaCode = opts.areaCode === undefined ? undefined : parseAreaCode(opts.areaCode);
  const price = opts.price === undefined ? undefined : parseCount('--price', opts.price);
  const g = await withClearinghouse(opts, (ch) =>
    ch.admitGrid({ gridManagerPublicKey, name: opts.name, ...(areaCode ? { areaCode } : {}), ...(price !== undefined ? { priceUnitsPerGib: price } : {}) }),
  );
  process.stdout.write(`${g.areaCode}\n`);
}

/**
 * `clearinghouse invite --name N [--area-code C] [--price P] [--expires 24h] [--address H:P]`:
 * prints a one-time federation invite code (stdout, one line) for
 * `intergrid grid join-federation CODE --config GRID_MANAGER_CONFIG`; its expiry goes to stderr.
 */
export async function clearinghouseInviteCommand(
  opts: OperatorOptions & { name: string; areaCode?: string; price?: string; expires?: string; address?: string },
): Promise<void> {
  const areaCode = opts.areaCode === undefined ? undefined : parseAreaCode(opts.areaCode);
  const price = opts.price === undefined ? undefined : parseCount('--price', opts.price);
  const expiresInMs = parseDuration(opts.expires ?? '24h', '--expires');
  const admin = loadClearinghouseAdmin(opts.admin);
  const dialled = opts.clearinghouse ?? admin.clearinghouse.address;
  if (!dialled) throw new ConfigError(`${opts.admin} has no clearinghouse.address: pass --clearinghouse HOST:PORT`);
  // The code carries the address grids dial: a wildcard listen address is no use to them.
  const address = opts.address ?? dialled;
  if (!/^[^\s:]{1,253}:[1-9][0-9]{0,4}$/.test(address)) throw new InvalidArgumentError(`--address '${address.slice(0, 60)}' is not host:port`);
  if (/^(0\.0\.0\.0|\[?::\]?):/.test(address)) {
    throw new InvalidArgumentError(`the clearinghouse address ${address} cannot be dialled by a grid: pass --address HOST:PORT (where grids reach the clearinghouse)`);
  }
  const name = opts.name.trim();
  const inv = await withClearinghouse(opts, (ch) =>
    ch.createGridInvite({ name, expiresInMs, ...(areaCode ? { areaCode } : {}), ...(price !== undefined ? { priceUnitsPerGib: price } : {}) }),
  );
  process.stdout.write(encodeGridInvite({ secret: inv.secret, clearinghousePublicKey: inv.clearinghousePublicKey, name, areaCode: areaCode ?? '', address }) + '\n');
  process.stderr.write(
    `one-time federation invite for grid '${name}' (area code ${areaCode ?? "the grid manager's own"}), valid until ${new Date(inv.expiresAtMs).toISOString()}: ` +
      `on the grid manager's machine run intergrid grid join-federation CODE --config GRID_MANAGER_CONFIG\n`,
  );
}

export async function clearinghouseSuspendCommand(opts: OperatorOptions & { areaCode: string }, suspended: boolean): Promise<void> {
  const code = parseAreaCode(opts.areaCode);
  const g = await withClearinghouse(opts, (ch) => ch.setGridSuspended(code, suspended));
  process.stdout.write(`${g.areaCode} ${g.suspended ? 'suspended' : 'active'}\n`);
}

/** Prints the gateway-approval certificate (base64) on stdout. */
export async function clearinghouseApproveGatewayCommand(opts: OperatorOptions & { areaCode: string; key: string; validityDays?: string }): Promise<void> {
  const areaCode = parseAreaCode(opts.areaCode);
  const gatewayPublicKey = parseKey('--key', opts.key);
  const days = opts.validityDays === undefined ? 0 : parseCount('--validity-days', opts.validityDays);
  const cert = await withClearinghouse(opts, (ch) => ch.approveGateway({ areaCode, gatewayPublicKey, validityMs: days * 86_400_000 }));
  process.stdout.write(encodeCertificateBase64(cert) + '\n');
}

/** Revokes a gateway's approvals; contact points refuse it once they polled the clearinghouse. */
export async function clearinghouseRevokeGatewayCommand(opts: OperatorOptions & { key: string }): Promise<void> {
  const gatewayPublicKey = parseKey('--key', opts.key);
  await withClearinghouse(opts, (ch) => ch.revokeGatewayApproval(gatewayPublicKey));
  process.stdout.write(`revoked gateway ${opts.key.trim().toLowerCase()}\n`);
}

export async function clearinghousePriceSetCommand(opts: OperatorOptions & { areaCode: string; price: string }): Promise<void> {
  const areaCode = parseAreaCode(opts.areaCode);
  const price = parseCount('--price', opts.price);
  const g = await withClearinghouse(opts, (ch) => ch.setPrice(areaCode, price));
  process.stdout.write(`${g.areaCode} ${g.priceUnitsPerGib}\n`);
}

export async function clearinghousePriceListCommand(opts: OperatorOptions & { json?: boolean }): Promise<void> {
  const grids = await withClearinghouse(opts, (ch) => ch.listGrids());
  const rows = grids.map((g) => ({ areaCode: g.areaCode, name: g.name, priceUnitsPerGib: g.priceUnitsPerGib }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  for (const r of rows) process.stdout.write(`${r.areaCode.padEnd(8)}  ${r.name.padEnd(20)}  ${r.priceUnitsPerGib} units/GiB\n`);
}

export async function clearinghouseGridsCommand(opts: OperatorOptions & { json?: boolean }): Promise<void> {
  const rows = (await withClearinghouse(opts, (ch) => ch.listGrids())).map(row);
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  for (const r of rows) {
    process.stdout.write(
      [r.areaCode.padEnd(8), r.name.padEnd(20), r.gridManagerKey, r.suspended ? 'SUSPENDED' : 'active', `${r.priceUnitsPerGib} units/GiB`, `${r.contactPoints} contact points`].join('  ') + '\n',
    );
  }
}

const iso = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : '-');

function disputeLine(d: DisputeInfo): string {
  const side = (b: number | null) => (b === null ? 'none' : String(b));
  const head = `#${d.id}  ${d.state.padEnd(8)}  ${d.reason.padEnd(17)}  ${d.exporter}→${d.importer}  served ${side(d.servedBytes)}  received ${side(d.receiptBytes)}  ${d.priceUnitsPerGib} units/GiB  ${d.transferId}`;
  const res = d.state === 'resolved' ? `\n      ${d.resolution} (${d.postedUnits} units) at ${iso(d.resolvedAtMs)}${d.note ? `: ${d.note}` : ''}` : '';
  return `${head}\n      ${d.detail}${res}`;
}

/** `clearinghouse disputes [--all] [--json]`: open disputes (all with --all). */
export async function clearinghouseDisputesCommand(opts: OperatorOptions & { all?: boolean; json?: boolean }): Promise<void> {
  const disputes = await withLedger(opts, (l) => l.listDisputes(Boolean(opts.all)));
  if (opts.json) {
    process.stdout.write(JSON.stringify(disputes, null, 2) + '\n');
    return;
  }
  if (disputes.length === 0) process.stdout.write(opts.all ? 'no disputes\n' : 'no open disputes\n');
  for (const d of disputes) process.stdout.write(disputeLine(d) + '\n');
}

/** `clearinghouse resolve-dispute ID (--accept served|receipt | --void) [--note TEXT]`. */
export async function clearinghouseResolveDisputeCommand(id: string, opts: OperatorOptions & { accept?: string; void?: boolean; note?: string }): Promise<void> {
  const n = parseCount('dispute id', id);
  if (n === 0) throw new InvalidArgumentError(`dispute id '${id}' is not a positive integer`);
  if ((opts.accept === undefined) === !opts.void) throw new InvalidArgumentError('give exactly one of --accept served|receipt or --void');
  if (opts.accept !== undefined && opts.accept !== 'served' && opts.accept !== 'receipt') {
    throw new InvalidArgumentError(`--accept '${opts.accept}' must be 'served' or 'receipt'`);
  }
  const resolution = opts.void ? 'void' : opts.accept === 'served' ? 'accept-served' : 'accept-receipt';
  const d = await withLedger(opts, (l) => l.resolveDispute(n, resolution, opts.note ?? ''));
  process.stdout.write(`dispute ${d.id} resolved: ${d.resolution}, ${d.postedUnits} units posted\n`);
}

/** `clearinghouse close-period [--id P]`: prints the closed period. */
export async function clearinghouseClosePeriodCommand(opts: OperatorOptions & { id?: string }): Promise<void> {
  const p = await withLedger(opts, (l) => l.closePeriod(opts.id ?? ''));
  process.stdout.write(`period ${p.id} closed: [${iso(p.fromMs)}, ${iso(p.toMs)}), ${p.transfers} transfers, ${p.grids} grid statements\n`);
}

/** `clearinghouse statement [--period P] [--json]`: the summary and every grid's statement, verified with the clearinghouse key. */
export async function clearinghouseStatementCommand(opts: OperatorOptions & { period?: string; json?: boolean }): Promise<void> {
  const { period, summary, statements } = await withLedger(opts, async (l, chKey) => {
    const s = await l.getStatements(opts.period ?? '');
    return {
      period: s.period,
      summary: openStatement(s.summary, chKey) as SummaryBody,
      statements: s.statements.map((x) => openStatement(x, chKey) as GridStatementBody),
    };
  });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ period, summary, statements }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`period ${period.id}: [${iso(period.fromMs)}, ${iso(period.toMs)}), ${period.transfers} transfers (signatures verified)\n`);
  process.stdout.write('summary (units; + is owed, − owes):\n');
  for (const b of summary.balances) process.stdout.write(`  ${b.areaCode.padEnd(8)} ${String(b.netUnits).padStart(16)}\n`);
  process.stdout.write(`  ${'total'.padEnd(8)} ${String(summary.totalUnits).padStart(16)}\n`);
  for (const s of statements) {
    process.stdout.write(`grid ${s.areaCode}: net ${s.netUnits} units\n`);
    for (const l of s.lines) {
      process.stdout.write(
        `  with ${l.counterpart.padEnd(8)} exported ${l.bytesExported} B (+${l.unitsCredited})  imported ${l.bytesImported} B (−${l.unitsDebited})  net ${l.netUnits}\n`,
      );
    }
  }
}

/** `clearinghouse ledger [--json]`: the open period's running totals. */
export async function clearinghouseLedgerCommand(opts: OperatorOptions & { json?: boolean }): Promise<void> {
  const s = await withLedger(opts, (l) => l.getLedger());
  if (opts.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  process.stdout.write(`open period since ${iso(s.openFromMs)}: ${s.records} records stored, ${s.pendingRecords} pending the other side, ${s.openDisputes} open disputes\n`);
  for (const p of s.pairs) process.stdout.write(`  ${p.exporter} → ${p.importer}  ${p.transfers} transfers  ${p.bytes} B  ${p.units} units owed to ${p.exporter}\n`);
}
