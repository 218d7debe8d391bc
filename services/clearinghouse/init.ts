/**
 * `initClearinghouse(dir, {listen})`: lays out a clearinghouse directory
 * (libs/auth operator-directory.ts), reusing whatever already exists so it
 * can run on every start:
 *
 *   dir/clearinghouse-key.json  the clearinghouse key (created once, never replaced)
 *   dir/admin-key.json          the operator's key (created once)
 *   dir/admin.json              operator identity: clearinghouse key + clearinghouse-admin certificate
 *   dir/config.json             the config (rewritten with the new listen)
 *   dir/data/                   database (created by the server)
 *
 * The operator certificate is reissued only when the existing one no longer
 * verifies under the clearinghouse key or expires within a quarter of its
 * lifetime.
 */
import { issueCertificate, validityWindow, loadOperatorIdentity, initOperatorDirectory, type OperatorIdentity } from '../../libs/auth/index.js';
import { clearinghouseConfigSchema } from './config.js';

export interface InitClearinghouseOptions {
  /** host:port the clearinghouse will listen on (port 0 = any free port). */
  listen: string;
  /** Clock, for tests. */
  now?: number;
}

export interface InitClearinghouseResult {
  configPath: string;
  adminIdentityPath: string;
  /** The clearinghouse key's public half (gateways and contact points trust it). */
  publicKey: Uint8Array;
  adminPublicKey: Uint8Array;
}

export const CLEARINGHOUSE_KEY_FILE = 'clearinghouse-key.json';
export const CLEARINGHOUSE_ADMIN_KEY_FILE = 'admin-key.json';
export const CLEARINGHOUSE_ADMIN_FILE = 'admin.json';
export const CLEARINGHOUSE_CONFIG_FILE = 'config.json';

/**
 * The area code written into the operator's certificate. Certificates need a
 * grid; the operator belongs to none, and '000' is never admitted (area codes
 * are assigned from `firstAreaCode`, at least 100).
 */
export const CLEARINGHOUSE_GRID = '000';

/** The operator identity (admin.json): libs/auth's operator identity file with the authority `clearinghouse`. */
export type ClearinghouseAdmin = OperatorIdentity<'clearinghouse'>;

/** Reads the admin.json initClearinghouse wrote. @throws ConfigError naming the file and field. */
export function loadClearinghouseAdmin(path: string): ClearinghouseAdmin {
  return loadOperatorIdentity(path, 'clearinghouse');
}

/**
 * Creates or refreshes a clearinghouse directory (see the file comment).
 * Synchronous, so a launcher can call it before spawning the process.
 * @throws ConfigError when an existing file is unreadable or the merged config is invalid.
 */
export function initClearinghouse(dir: string, opts: InitClearinghouseOptions): InitClearinghouseResult {
  const now = opts.now ?? Date.now();
  const d = initOperatorDirectory(dir, {
    authority: 'clearinghouse',
    files: { authorityKey: CLEARINGHOUSE_KEY_FILE, adminKey: CLEARINGHOUSE_ADMIN_KEY_FILE, identity: CLEARINGHOUSE_ADMIN_FILE, config: CLEARINGHOUSE_CONFIG_FILE },
    listen: opts.listen,
    now,
    schema: clearinghouseConfigSchema,
    admin: { role: 'clearinghouse-admin' },
    issue: (chKey, admin, config) =>
      issueCertificate(chKey, {
        role: 'clearinghouse-admin',
        subject: admin.publicKey,
        grid: CLEARINGHOUSE_GRID,
        ...validityWindow(now, config.adminCertificateLifetimeMs),
        limits: {},
      }),
  });
  return { configPath: d.configPath, adminIdentityPath: d.adminIdentityPath, publicKey: d.authorityKey.publicKey, adminPublicKey: d.admin.publicKey };
}
