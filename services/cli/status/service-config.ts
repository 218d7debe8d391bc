/**
 * Which service a config file belongs to, where that service answers, and
 * who `intergrid status` calls it as. The config is validated against the
 * grid manager's and the clearinghouse's schemas (both strict, so at most one
 * accepts it). The identity is a short-lived certificate the service's own key
 * issues to itself (status runs on the service's machine), or the admin.json
 * given with --admin.
 */
import { issueCertificate, readKeyFile, validityWindow, type Identity } from '../../../libs/auth/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { loadGridManagerConfig, loadAdminIdentity, issueGridCertificate, type GridManagerConfig } from '../../grid-manager/index.js';
import { loadClearinghouseConfig, loadClearinghouseAdmin, CLEARINGHOUSE_GRID, type ClearinghouseConfig } from '../../clearinghouse/index.js';

/** Lifetime of the self-issued certificate: one status run. */
const SELF_CERTIFICATE_MS = 10 * 60_000;

export type ServiceTarget =
  | { kind: 'grid-manager'; config: GridManagerConfig; address: string; identity: Identity; serviceKey: Uint8Array }
  | { kind: 'clearinghouse'; config: ClearinghouseConfig; address: string; identity: Identity; serviceKey: Uint8Array };

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
  if (Number(port) === 0) throw new ConfigError(`${configPath} listens on port 0 (any free port): pass --address HOST:PORT`);
  return `${['0.0.0.0', '::', '[::]'].includes(host) ? '127.0.0.1' : host}:${port}`;
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
    const address = opts.address ?? callAddress(gm.listen, configPath);
    if (opts.admin) {
      const admin = loadAdminIdentity(opts.admin);
      return { kind: 'grid-manager', config: gm, address, identity: admin.identity, serviceKey: admin.gridManager.publicKey };
    }
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
  const address = opts.address ?? callAddress(ch.listen, configPath);
  if (opts.admin) {
    const admin = loadClearinghouseAdmin(opts.admin);
    return { kind: 'clearinghouse', config: ch, address, identity: admin.identity, serviceKey: admin.clearinghouse.publicKey };
  }
  const key = readKeyFile(ch.keyFile);
  // An operator certificate like the one init issues, for the clearinghouse key itself.
  const cert = issueCertificate(key, { role: 'clearinghouse-admin', subject: key.publicKey, grid: CLEARINGHOUSE_GRID, ...validityWindow(opts.now, SELF_CERTIFICATE_MS), limits: {} });
  return { kind: 'clearinghouse', config: ch, address, identity: { keyPair: key, certificates: [cert] }, serviceKey: key.publicKey };
}
