/**
 * `intergrid join CODE --dir DIR [role flags]`: a new node joins a grid with
 * an invite code from `intergrid grid invite` (docs/grid-manager.md
 * "Invites"). Creates DIR/key.json (0600; an existing key is kept), redeems
 * the code at the grid manager named in it, writes DIR/certificate.b64 and the
 * complete config for the role, validated with that service's schema:
 *
 *   client          DIR/client.json (0600) for put/get/check; --gateway adds the home gateway
 *   storage-server  DIR/config.json, data in DIR/data (--listen, --advertise, --name)
 *   contact-point   DIR/config.json, data in DIR/data (--listen, --advertise, --name,
 *                   --clearinghouse, --clearinghouse-key: both required)
 *   gateway         DIR/config.json, data in DIR/data (--listen, --name, --nats,
 *                   --nats-credentials FILE (the grid's NATS user and password,
 *                   the JSON file `intergrid up` writes; needs --nats),
 *                   --clearinghouse, --clearinghouse-key, --price-ceiling: required);
 *                   certificateFiles names DIR/approval.b64, which the clearinghouse
 *                   operator's `intergrid clearinghouse approve-gateway` writes
 *
 * Every flag is checked (and the config validated) before the one-time code is
 * spent; a flag that does not apply to the invite's role is refused.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { z } from 'zod';
import { join, resolve } from 'node:path';
import { encodeCertificateBase64, loadOrCreateKeyFile, writeCertificateFile } from '../../../libs/auth/index.js';
import { describeIssues, listenAddress, writeJsonAtomic } from '../../../libs/config/index.js';
import { writeClientConfig } from '../../../libs/client/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { ConfigError, InvalidArgumentError, PreconditionError } from '../../../libs/errors/index.js';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_N, DEFAULT_SEGMENT_SIZE } from '../../../libs/format/index.js';
import { connectGridManager, decodeInvite, redeemInvite, type GridRole } from '../../../libs/grid/index.js';
import { storageConfigSchema } from '../../storage/config.js';
import { readNatsCredentialsFile } from '../../../libs/events/index.js';
import { contactPointConfigSchema } from '../../contact-point/config.js';
import { gatewayConfigSchema } from '../../gateway/config.js';

export interface JoinOptions {
  dir: string;
  /** Storage servers, contact points, gateways: the address to listen on (defaults in DEFAULT_LISTEN). */
  listen?: string;
  /** Storage servers and contact points: the address announced when it differs from --listen (e.g. 0.0.0.0). */
  advertise?: string;
  /** A name for the config (the certificate's name is the invite's). */
  name?: string;
  /** Gateways and contact points: the clearinghouse's address (host:port). */
  clearinghouse?: string;
  /** Gateways and contact points: the clearinghouse's public key (hex). */
  clearinghouseKey?: string;
  /** Gateways: the grid's NATS servers (usage events), nats://host:port. */
  nats?: string[];
  /** Gateways: a file holding the grid's NATS {user, password} (docs/events.md "Credentials"). */
  natsCredentials?: string;
  /** Gateways: highest price paid, units per GiB. */
  priceCeiling?: string;
  /** Clients: the home grid's gateway (host:port), for long-distance gets. */
  gateway?: string;
  /** Clients, with --gateway: the gateway's public key (hex), which pins its TLS certificate. */
  gatewayKey?: string;
}

/** Where each service listens when --listen is not given. */
export const DEFAULT_LISTEN = { 'storage-server': '0.0.0.0:7400', gateway: '0.0.0.0:7500', 'contact-point': '0.0.0.0:7600' } as const;

/** The gateway's approval from the clearinghouse, named in its certificateFiles. */
export const GATEWAY_APPROVAL_FILE = 'approval.b64';

/** Which flags each role takes (any other set flag is refused before the code is spent). */
const FLAGS: Record<GridRole, ReadonlyArray<keyof JoinOptions>> = {
  client: ['gateway', 'gatewayKey'],
  'storage-server': ['name', 'listen', 'advertise'],
  'contact-point': ['name', 'listen', 'advertise', 'clearinghouse', 'clearinghouseKey'],
  gateway: ['name', 'listen', 'nats', 'natsCredentials', 'clearinghouse', 'clearinghouseKey', 'priceCeiling'],
  admin: [],
};
const FLAG_NAMES: Record<string, string> = {
  listen: '--listen', advertise: '--advertise', name: '--name', clearinghouse: '--clearinghouse', clearinghouseKey: '--clearinghouse-key',
  nats: '--nats', natsCredentials: '--nats-credentials', priceCeiling: '--price-ceiling', gateway: '--gateway', gatewayKey: '--gateway-key',
};

function checkFlags(role: GridRole, opts: JoinOptions): void {
  const allowed = new Set<string>(['dir', ...FLAGS[role]]);
  const extra = Object.entries(opts)
    .filter(([k, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !allowed.has(k))
    .map(([k]) => FLAG_NAMES[k] ?? k)
    .sort();
  if (extra.length > 0) throw new InvalidArgumentError(`${extra.join(', ')} ${extra.length === 1 ? 'does' : 'do'} not apply to a ${role} invite`);
  const missing = (role === 'gateway' ? ['clearinghouse', 'clearinghouseKey', 'priceCeiling'] : role === 'contact-point' ? ['clearinghouse', 'clearinghouseKey'] : [])
    .filter((k) => opts[k as keyof JoinOptions] === undefined)
    .map((k) => FLAG_NAMES[k]!);
  if (missing.length > 0) throw new InvalidArgumentError(`a ${role} invite needs ${missing.join(', ')}`);
  // A gateway address is only usable with the key that pins it (docs/security.md "Transport").
  if ((opts.gateway === undefined) !== (opts.gatewayKey === undefined)) throw new InvalidArgumentError('--gateway and --gateway-key go together');
  if (opts.natsCredentials !== undefined && !(opts.nats && opts.nats.length > 0)) throw new InvalidArgumentError('--nats-credentials needs --nats (the server they are for)');
}

function parsePrice(text: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError(`--price-ceiling '${text}' is not a non-negative integer (units per GiB)`);
  return Number(text);
}

/** Validates a service config before the invite is spent; @throws ConfigError naming the flag-derived field. */
function validate(schema: z.ZodType, raw: unknown, role: string): void {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`the ${role} config these flags give is not valid: ${describeIssues(r.error)}`);
}

export async function joinCommand(code: string, opts: JoinOptions): Promise<void> {
  const invite = decodeInvite(code);
  const role = invite.role;
  checkFlags(role, opts);
  const dir = resolve(opts.dir);
  const configPath = join(dir, role === 'client' ? 'client.json' : 'config.json');
  if (existsSync(configPath)) throw new PreconditionError(`${configPath} already exists: join into an empty directory`);
  const gridManager = { address: invite.address, publicKey: toHex(invite.gridManagerKey) };
  const clearinghouse = opts.clearinghouse !== undefined ? { address: opts.clearinghouse, publicKey: opts.clearinghouseKey ?? '' } : undefined;
  const name = opts.name;

  // The config each role gets, checked before anything is created or redeemed.
  let serviceConfig: Record<string, unknown> | undefined;
  if (role === 'storage-server') {
    serviceConfig = {
      name: name ?? 'storage',
      listen: opts.listen ?? DEFAULT_LISTEN[role],
      ...(opts.advertise ? { advertiseAddress: opts.advertise } : {}),
      dataDir: './data',
      keyFile: './key.json',
      certificateFile: './certificate.b64',
      gridManager,
    };
    validate(storageConfigSchema, serviceConfig, role);
  } else if (role === 'contact-point') {
    serviceConfig = {
      name: name ?? 'contact-point',
      listen: opts.listen ?? DEFAULT_LISTEN[role],
      ...(opts.advertise ? { advertiseAddress: opts.advertise } : {}),
      areaCode: invite.areaCode,
      dataDir: './data',
      keyFile: './key.json',
      certificateFile: './certificate.b64',
      gridManager,
      clearinghouse,
    };
    validate(contactPointConfigSchema, serviceConfig, role);
  } else if (role === 'gateway') {
    serviceConfig = {
      name: name ?? 'gateway',
      listen: opts.listen ?? DEFAULT_LISTEN[role],
      areaCode: invite.areaCode,
      dataDir: './data',
      keyFile: './key.json',
      certificateFiles: ['./certificate.b64', `./${GATEWAY_APPROVAL_FILE}`],
      gridManager,
      clearinghouse,
      priceCeilingUnitsPerGib: parsePrice(opts.priceCeiling!),
      ...(opts.nats && opts.nats.length > 0
        ? { nats: { servers: opts.nats, ...(opts.natsCredentials !== undefined ? { credentials: readNatsCredentialsFile(opts.natsCredentials) } : {}) } }
        : {}),
    };
    validate(gatewayConfigSchema, serviceConfig, role);
  } else if (role === 'client' && opts.gateway !== undefined && !listenAddress.safeParse(opts.gateway).success) {
    throw new InvalidArgumentError(`--gateway '${opts.gateway}' is not host:port`);
  } else if (role === 'client' && opts.gatewayKey !== undefined && !/^[0-9a-f]{64}$/.test(opts.gatewayKey)) {
    throw new InvalidArgumentError(`--gateway-key must be 64 lowercase hex digits (the gateway's public key)`);
  }

  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, 'key.json');
  const key = loadOrCreateKeyFile(keyPath);
  const cert = await redeemInvite(invite, key);
  const certPath = join(dir, 'certificate.b64');
  writeCertificateFile(certPath, cert);
  const wrote = [`${keyPath} (your key, mode 0600)`, `${certPath} (${role} certificate for grid ${invite.areaCode}, valid until ${new Date(cert.notAfter).toISOString()})`];
  const next: string[] = [];
  if (role === 'client') {
    // Like `intergrid up`: ask for no more distinct servers than the grid has now (at least k).
    const gm = connectGridManager(invite.address, { keyPair: key, certificates: [cert] }, { gridManagerPublicKey: invite.gridManagerKey });
    let servers: number;
    try {
      servers = (await gm.getDirectory()).servers.length;
    } finally {
      gm.close();
    }
    const happy = Math.min(DEFAULT_HAPPY, Math.max(DEFAULT_K, servers));
    writeClientConfig(configPath, {
      areaCode: invite.areaCode,
      gridManager,
      ...(opts.gateway !== undefined && opts.gatewayKey !== undefined ? { gateway: { address: opts.gateway, publicKey: opts.gatewayKey } } : {}),
      publicKey: toHex(key.publicKey),
      secretKey: toHex(key.secretKey),
      certificate: encodeCertificateBase64(cert),
      encoding: { k: DEFAULT_K, n: DEFAULT_N, happy, segmentSize: DEFAULT_SEGMENT_SIZE },
    });
    wrote.push(`${configPath} (client config, mode 0600, happy=${happy} for the ${servers} servers listed now: use with intergrid put/get --config)`);
  } else if (serviceConfig) {
    mkdirSync(join(dir, 'data'), { recursive: true });
    // Unnamed: the role and the key's first 8 hex digits, like the certificate's default name.
    if (name === undefined) serviceConfig.name = `${role === 'storage-server' ? 'storage' : role}-${toHex(key.publicKey).slice(0, 8)}`;
    const service = role === 'storage-server' ? 'storage' : role;
    // As validated above, without the schema's defaults filled in (mode 0600).
    writeJsonAtomic(configPath, serviceConfig);
    wrote.push(`${configPath} (${role} config, data in ${join(dir, 'data')})`);
    if (role === 'gateway') {
      next.push(
        `the clearinghouse operator approves this gateway: intergrid clearinghouse approve-gateway --area-code ${invite.areaCode} --key ${toHex(key.publicKey)} > ${join(dir, GATEWAY_APPROVAL_FILE)}`,
      );
    }
    next.push(`run intergrid serve ${service} --config ${configPath}`);
  }
  process.stdout.write(
    `joined grid ${invite.areaCode} as ${role} (key ${toHex(key.publicKey)})\nwrote:\n${wrote.map((w) => `  ${w}\n`).join('')}` +
      (next.length > 0 ? `next:\n${next.map((n, i) => `  ${i + 1}. ${n}\n`).join('')}` : ''),
  );
}
