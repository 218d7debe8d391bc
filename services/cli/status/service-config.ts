/**
 * Which service a config file belongs to, where that service answers, and
 * who `intergrid status` calls it as. The config is validated against the
 * grid manager's and the clearinghouse's schemas (both strict, so at most one
 * accepts it). The identity is a short-lived certificate the service's own key
 * issues to itself (status runs on the service's machine), or the admin.json
 * given with --admin.
 *
 * Without a config, an operator identity file (admin.json) alone says it all
 * (loadAdminTarget): which authority it administers (`gridManager` or
 * `clearinghouse`), that authority's public key and — when recorded, as
 * `intergrid up` does at every start — its address.
 */
import { z } from 'zod';
import { issueCertificate, loadOperatorIdentity, operatorIdentitySchema, readKeyFile, validityWindow, type Authority, type AuthorityRef, type Identity } from '../../../libs/auth/index.js';
import { loadJsonConfig } from '../../../libs/config/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { loadGridManagerConfig, loadAdminIdentity, issueGridCertificate, type GridManagerConfig } from '../../grid-manager/index.js';
import { loadClearinghouseConfig, loadClearinghouseAdmin, CLEARINGHOUSE_GRID, type ClearinghouseConfig } from '../../clearinghouse/index.js';

/** Deadline of each call `intergrid status` (and the web dashboard) makes to the service itself. */
export const SERVICE_TIMEOUT_MS = 5000;

/** Lifetime of the self-issued certificate: one status run. */
const SELF_CERTIFICATE_MS = 10 * 60_000;

export type ServiceTarget =
  | { kind: 'grid-manager'; config: GridManagerConfig; address: string; identity: Identity; serviceKey: Uint8Array }
  | { kind: 'clearinghouse'; config: ClearinghouseConfig; address: string; identity: Identity; serviceKey: Uint8Array };

/** Where and as whom to call the authority an operator identity file administers. */
export interface AdminTarget {
  kind: 'grid-manager' | 'clearinghouse';
  address: string;
  identity: Identity;
  serviceKey: Uint8Array;
}

const KIND: Record<Authority, AdminTarget['kind']> = { gridManager: 'grid-manager', clearinghouse: 'clearinghouse' };
const SERVICE_NAME: Record<Authority, string> = { gridManager: 'grid manager', clearinghouse: 'clearinghouse' };

/**
 * Loads an operator identity file (a grid admin's or the clearinghouse
 * operator's admin.json) as a status target: the authority it names, the
 * address recorded there (or `opts.address`, which wins) and the authority's
 * public key, which pins the call.
 * @example loadAdminTarget('/tmp/g/a/grid-manager/admin.json') // { kind: 'grid-manager', address: '127.0.0.1:41234', … }
 * @throws ConfigError, one line naming the file: unreadable, not JSON, not an
 *   operator identity file, a malformed field, or no address recorded and none given.
 */
export function loadAdminTarget(adminPath: string, opts: { address?: string } = {}): AdminTarget {
  const raw = loadJsonConfig(adminPath, z.record(z.string(), z.unknown()));
  const authorities = (['gridManager', 'clearinghouse'] as const).filter((a) => a in raw);
  if (authorities.length !== 1) {
    throw new ConfigError(`${adminPath} is not an operator identity file: it must name exactly one of gridManager or clearinghouse (the admin.json of a grid manager or clearinghouse directory)`);
  }
  const authority = authorities[0]!;
  let loaded;
  try {
    loaded = loadOperatorIdentity(adminPath, authority);
  } catch (e) {
    // A client.json names its gridManager too: say what the file is not, then why.
    if (e instanceof ConfigError && !operatorIdentitySchema(authority).safeParse(raw).success) {
      throw new ConfigError(`${adminPath} is not an operator identity file: ${reason(e, adminPath)}`, { cause: e });
    }
    throw e;
  }
  const ref = (loaded as unknown as Record<Authority, AuthorityRef>)[authority];
  const address = opts.address ?? ref.address;
  if (address === undefined) throw new ConfigError(`${adminPath} has no ${authority}.address (where the ${SERVICE_NAME[authority]} listens) and no address was given`);
  return { kind: KIND[authority], address, identity: loaded.identity, serviceKey: ref.publicKey };
}

export interface TargetOptions {
  /** admin.json of the grid admin / clearinghouse operator instead of the service key. */
  admin?: string;
  /** host:port to call instead of the config's listen address. */
  address?: string;
  now: number;
}

/** 'config FILE: listen: …' → 'listen: …' (the file is named once, by the caller). */
function reason(err: unknown, path: string): string {
  const message = (err as Error).message;
  return message.startsWith(`config ${path}: `) ? message.slice(`config ${path}: `.length) : message;
}

/**
 * Where to call a service that listens on `listen`: a wildcard host means this
 * machine (127.0.0.1); port 0 cannot be called.
 * @throws ConfigError for port 0 without --address.
 */
export function callAddress(listen: string, configPath: string): string {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = listen.slice(colon + 1);
  if (Number(port) === 0) throw new ConfigError(`${configPath} listens on port 0 (any free port): pass --address HOST:PORT, or --admin ADMIN.json recording the address`);
  return `${['0.0.0.0', '::', '[::]'].includes(host) ? '127.0.0.1' : host}:${port}`;
}

/**
 * The address to call with --config (and maybe --admin): --address, else the
 * config's listen address, else — when it listens on port 0 — the address the
 * admin identity file records (`intergrid up` writes it at every start).
 */
function targetAddress(listen: string, configPath: string, opts: TargetOptions, admin: { path: string; field: string; address?: string } | undefined): string {
  if (opts.address) return opts.address;
  if (/:0$/.test(listen) && admin) {
    if (admin.address) return admin.address;
    throw new ConfigError(`${configPath} listens on port 0 (any free port) and ${admin.path} has no ${admin.field}.address: pass --address HOST:PORT`);
  }
  return callAddress(listen, configPath);
}

/**
 * Loads `configPath` as a grid manager or clearinghouse config and prepares the call.
 * @throws ConfigError naming the file when it is neither (or unreadable), or the identity cannot be loaded.
 */
export function loadServiceTarget(configPath: string, opts: TargetOptions): ServiceTarget {
  let gm: GridManagerConfig | undefined;
  let ch: ClearinghouseConfig | undefined;
  let gmError: unknown;
  try {
    gm = loadGridManagerConfig(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    gmError = e;
    try {
      ch = loadClearinghouseConfig(configPath);
    } catch (e2) {
      if (!(e2 instanceof ConfigError)) throw e2;
      const a = reason(e, configPath);
      const b = reason(e2, configPath);
      // Unreadable or not JSON: the same message from both loaders.
      if (a === b) throw e;
      throw new ConfigError(`${configPath} is neither a grid manager config (${a}) nor a clearinghouse config (${b})`, { cause: e2 });
    }
  }
  if (gm) {
    if (opts.admin) {
      const admin = loadAdminIdentity(opts.admin);
      const address = targetAddress(gm.listen, configPath, opts, { path: opts.admin, field: 'gridManager', ...(admin.gridManager.address ? { address: admin.gridManager.address } : {}) });
      return { kind: 'grid-manager', config: gm, address, identity: admin.identity, serviceKey: admin.gridManager.publicKey };
    }
    const address = targetAddress(gm.listen, configPath, opts, undefined);
    const gridKey = readKeyFile(gm.keyFile);
    // The grid key certifies itself as this grid's admin, as the statement poller does.
    const cert = issueGridCertificate({ gridKey, areaCode: gm.areaCode, lifetimes: gm.certificateLifetimes }, opts.now, {
      subject: gridKey.publicKey,
      role: 'admin',
      validityMs: SELF_CERTIFICATE_MS,
      quotaBytes: 0,
    });
    return { kind: 'grid-manager', config: gm, address, identity: { keyPair: gridKey, certificates: [cert] }, serviceKey: gridKey.publicKey };
  }
  if (!ch) throw gmError;
  if (opts.admin) {
    const admin = loadClearinghouseAdmin(opts.admin);
    const address = targetAddress(ch.listen, configPath, opts, { path: opts.admin, field: 'clearinghouse', ...(admin.clearinghouse.address ? { address: admin.clearinghouse.address } : {}) });
    return { kind: 'clearinghouse', config: ch, address, identity: admin.identity, serviceKey: admin.clearinghouse.publicKey };
  }
  const address = targetAddress(ch.listen, configPath, opts, undefined);
  const key = readKeyFile(ch.keyFile);
  // An operator certificate like the one init issues, for the clearinghouse key itself.
  const cert = issueCertificate(key, { role: 'clearinghouse-admin', subject: key.publicKey, grid: CLEARINGHOUSE_GRID, ...validityWindow(opts.now, SELF_CERTIFICATE_MS), limits: {} });
  return { kind: 'clearinghouse', config: ch, address, identity: { keyPair: key, certificates: [cert] }, serviceKey: key.publicKey };
}
