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
import { connectClearinghouse, type ClearinghouseConnection, type GridInfo } from '../../../libs/federation/index.js';
import { initClearinghouse, loadClearinghouseAdmin } from '../../clearinghouse/index.js';

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
