/**
 * `initGridManager(dir, {areaCode, listen})`: lays out a grid manager
 * directory, reusing whatever already exists so it can run on every start:
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
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadOrCreateKeyFile,
  encodeCertificateBase64,
  loadOperatorIdentity,
  writeOperatorIdentity,
  reusableOperatorCertificate,
  adminKeysWith,
  recordedAddress,
  type OperatorIdentity,
} from '../../libs/auth/index.js';
import { writeJsonAtomic, readJsonObjectIfPresent, describeIssues } from '../../libs/config/index.js';
import { toHex } from '../../libs/crypto/index.js';
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
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const now = opts.now ?? Date.now();
  const configPath = join(root, CONFIG_FILE);
  const adminIdentityPath = join(root, ADMIN_IDENTITY_FILE);

  const existing = readJsonObjectIfPresent(configPath) ?? {};
  if (existing.areaCode !== undefined && existing.areaCode !== opts.areaCode) {
    throw new ConfigError(`${configPath}: grid already has area code '${String(existing.areaCode)}', not '${opts.areaCode}'`);
  }

  const gridKeyPath = typeof existing.keyFile === 'string' ? resolve(root, existing.keyFile) : join(root, GRID_KEY_FILE);
  const gridKey = loadOrCreateKeyFile(gridKeyPath);
  const admin = loadOrCreateKeyFile(join(root, ADMIN_KEY_FILE));
  // Keep anything an operator set (lifetimes, database…), replace listen, make sure the admin is listed.
  const adminKeys = adminKeysWith(existing, admin);
  const configJson = {
    dataDir: './data',
    keyFile: `./${GRID_KEY_FILE}`,
    ...existing,
    listen: opts.listen,
    areaCode: opts.areaCode,
    adminKeys,
  };
  const config = gridManagerConfigSchema.safeParse(configJson);
  if (!config.success) {
    throw new ConfigError(`${configPath}: ${describeIssues(config.error)}`);
  }
  writeJsonAtomic(configPath, configJson);

  const cert =
    reusableOperatorCertificate(adminIdentityPath, 'gridManager', { issuer: gridKey, admin, role: 'admin', grid: opts.areaCode, now }) ??
    issueGridCertificate({ gridKey, areaCode: opts.areaCode, lifetimes: config.data.certificateLifetimes }, now, {
      subject: admin.publicKey,
      role: 'admin',
      validityMs: 0,
      quotaBytes: 0,
    });
  writeOperatorIdentity(adminIdentityPath, 'gridManager', {
    gridManager: { ...recordedAddress(opts.listen), publicKey: toHex(gridKey.publicKey) },
    keyFile: `./${ADMIN_KEY_FILE}`,
    certificate: encodeCertificateBase64(cert),
  });
  return { configPath, adminIdentityPath, gridManagerPublicKey: gridKey.publicKey, adminPublicKey: admin.publicKey };
}
