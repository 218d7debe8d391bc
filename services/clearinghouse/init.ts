/**
 * `initClearinghouse(dir, {listen})`: lays out a clearinghouse directory,
 * reusing whatever already exists so it can run on every start:
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
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadOrCreateKeyFile,
  issueCertificate,
  validityWindow,
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
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const now = opts.now ?? Date.now();
  const configPath = join(root, CLEARINGHOUSE_CONFIG_FILE);
  const adminIdentityPath = join(root, CLEARINGHOUSE_ADMIN_FILE);

  const existing = readJsonObjectIfPresent(configPath) ?? {};
  const keyPath = typeof existing.keyFile === 'string' ? resolve(root, existing.keyFile) : join(root, CLEARINGHOUSE_KEY_FILE);
  const chKey = loadOrCreateKeyFile(keyPath);
  const admin = loadOrCreateKeyFile(join(root, CLEARINGHOUSE_ADMIN_KEY_FILE));
  const adminKeys = adminKeysWith(existing, admin);
  // Keep anything an operator set (TTLs, database…), replace listen.
  const configJson = { dataDir: './data', keyFile: `./${CLEARINGHOUSE_KEY_FILE}`, ...existing, listen: opts.listen, adminKeys };
  const config = clearinghouseConfigSchema.safeParse(configJson);
  if (!config.success) {
    throw new ConfigError(`${configPath}: ${describeIssues(config.error)}`);
  }
  writeJsonAtomic(configPath, configJson);

  const cert =
    reusableOperatorCertificate(adminIdentityPath, 'clearinghouse', { issuer: chKey, admin, role: 'clearinghouse-admin', now }) ??
    issueCertificate(chKey, {
      role: 'clearinghouse-admin',
      subject: admin.publicKey,
      grid: CLEARINGHOUSE_GRID,
      ...validityWindow(now, config.data.adminCertificateLifetimeMs),
      limits: {},
    });
  writeOperatorIdentity(adminIdentityPath, 'clearinghouse', {
    clearinghouse: { ...recordedAddress(opts.listen), publicKey: toHex(chKey.publicKey) },
    keyFile: `./${CLEARINGHOUSE_ADMIN_KEY_FILE}`,
    certificate: encodeCertificateBase64(cert),
  });
  return { configPath, adminIdentityPath, publicKey: chKey.publicKey, adminPublicKey: admin.publicKey };
}
