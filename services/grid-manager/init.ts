/**
 * `initGridManager(dir, {areaCode, listen})`: lays out a grid manager
 * directory (libs/auth operator-directory.ts), reusing whatever already
 * exists so it can run on every start:
 *
 *   dir/grid-key.json    the grid key (created once, never replaced)
 *   dir/admin-key.json   the first admin's key (created once)
 *   dir/admin.json       admin identity: grid manager key + admin certificate
 *   dir/config.json      the grid manager config (rewritten with the new listen)
 *   dir/data/            database (created by the server)
 *
 * The admin certificate is reissued only when the existing one no longer
 * verifies under the grid key or expires within a quarter of its lifetime.
 */
import { loadOperatorIdentity, initOperatorDirectory, type OperatorIdentity } from '../../libs/auth/index.js';
import { ConfigError } from '../../libs/errors/index.js';
import { gridManagerConfigSchema } from './config.js';
import { issueGridCertificate } from './grid-certificate.js';

export interface InitGridManagerOptions {
  /** The grid's area code (3–8 digits). Fixed once chosen. */
  areaCode: string;
  /** host:port the grid manager will listen on (port 0 = any free port). */
  listen: string;
  /** Clock, for tests. */
  now?: number;
}

export interface InitGridManagerResult {
  configPath: string;
  adminIdentityPath: string;
  gridManagerPublicKey: Uint8Array;
  adminPublicKey: Uint8Array;
}

export const GRID_KEY_FILE = 'grid-key.json';
export const ADMIN_KEY_FILE = 'admin-key.json';
export const ADMIN_IDENTITY_FILE = 'admin.json';
export const CONFIG_FILE = 'config.json';

/** The admin identity (admin.json): libs/auth's operator identity file with the authority `gridManager`. */
export type AdminIdentity = OperatorIdentity<'gridManager'>;

/** Reads the admin.json initGridManager wrote. @throws ConfigError naming the file and field. */
export function loadAdminIdentity(path: string): AdminIdentity {
  return loadOperatorIdentity(path, 'gridManager');
}

/**
 * Creates or refreshes a grid manager directory (see the file comment).
 * Synchronous, so a launcher can call it before spawning the process.
 * @throws ConfigError when `dir` already belongs to a grid with a different
 *   area code, or an existing file is unreadable.
 */
export function initGridManager(dir: string, opts: InitGridManagerOptions): InitGridManagerResult {
  const now = opts.now ?? Date.now();
  const d = initOperatorDirectory(dir, {
    authority: 'gridManager',
    files: { authorityKey: GRID_KEY_FILE, adminKey: ADMIN_KEY_FILE, identity: ADMIN_IDENTITY_FILE, config: CONFIG_FILE },
    listen: opts.listen,
    now,
    fixed: { areaCode: opts.areaCode },
    checkExisting: (existing, configPath) => {
      if (existing.areaCode !== undefined && existing.areaCode !== opts.areaCode) {
        throw new ConfigError(`${configPath}: grid already has area code '${String(existing.areaCode)}', not '${opts.areaCode}'`);
      }
    },
    schema: gridManagerConfigSchema,
    admin: { role: 'admin', grid: opts.areaCode },
    issue: (gridKey, admin, config) =>
      issueGridCertificate({ gridKey, areaCode: opts.areaCode, lifetimes: config.certificateLifetimes }, now, {
        subject: admin.publicKey,
        role: 'admin',
        validityMs: 0,
        quotaBytes: 0,
      }),
  });
  return { configPath: d.configPath, adminIdentityPath: d.adminIdentityPath, gridManagerPublicKey: d.authorityKey.publicKey, adminPublicKey: d.admin.publicKey };
}
