/**
 * What `init` does for an operator's service directory — a grid manager's or
 * the clearinghouse's — reusing whatever already exists so it can run on
 * every start:
 *
 *   dir/<authority key file>  the service's key (created once, never replaced)
 *   dir/admin-key.json        the operator's key (created once)
 *   dir/admin.json            operator identity (operator-identity.ts)
 *   dir/config.json           the config: the operator's fields kept, listen
 *                             (and the caller's fixed fields) replaced, the
 *                             admin key listed
 *
 * The operator certificate is reissued only when the existing one no longer
 * verifies under the service key or expires within a quarter of its lifetime.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { describeIssues, readJsonObjectIfPresent, writeJsonAtomic } from '../config/index.js';
import { toHex, type KeyPair } from '../crypto/index.js';
import { ConfigError } from '../errors/index.js';
import { encodeCertificateBase64 } from './certificate.js';
import { loadOrCreateKeyFile } from './identity-file.js';
import { adminKeysWith, recordedAddress, reusableOperatorCertificate, writeOperatorIdentity, type Authority, type OperatorIdentityFile } from './operator-identity.js';
import type { Certificate, Role } from './types.js';

export interface OperatorDirectorySpec<A extends Authority, C> {
  authority: A;
  /** File names inside the directory. */
  files: { authorityKey: string; adminKey: string; identity: string; config: string };
  /** host:port the service will listen on (port 0 = any free port). */
  listen: string;
  now: number;
  /** Config fields init always sets (beside listen and adminKeys). */
  fixed?: Record<string, unknown>;
  /** Refuses an existing config that belongs to something else. @throws ConfigError */
  checkExisting?(existing: Record<string, unknown>, configPath: string): void;
  /** The service's config schema: the merged config must pass it before anything is written. */
  schema: z.ZodType<C>;
  /** What a reusable operator certificate must be: its role, and its grid when the service has one. */
  admin: { role: Role; grid?: string };
  /** Issues a fresh operator certificate. */
  issue(authorityKey: KeyPair, admin: KeyPair, config: C): Certificate;
}

export interface OperatorDirectory {
  configPath: string;
  adminIdentityPath: string;
  authorityKey: KeyPair;
  admin: KeyPair;
}

/**
 * Creates or refreshes the directory (see the file comment). Synchronous, so
 * a launcher can call it before spawning the process.
 * @throws ConfigError when an existing file is unreadable, checkExisting refuses, or the merged config is invalid.
 */
export function initOperatorDirectory<A extends Authority, C>(dir: string, spec: OperatorDirectorySpec<A, C>): OperatorDirectory {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const configPath = join(root, spec.files.config);
  const adminIdentityPath = join(root, spec.files.identity);

  const existing = readJsonObjectIfPresent(configPath) ?? {};
  spec.checkExisting?.(existing, configPath);
  const keyPath = typeof existing.keyFile === 'string' ? resolve(root, existing.keyFile) : join(root, spec.files.authorityKey);
  const authorityKey = loadOrCreateKeyFile(keyPath);
  const admin = loadOrCreateKeyFile(join(root, spec.files.adminKey));
  const configJson = {
    dataDir: './data',
    keyFile: `./${spec.files.authorityKey}`,
    ...existing,
    listen: spec.listen,
    ...spec.fixed,
    adminKeys: adminKeysWith(existing, admin),
  };
  const config = spec.schema.safeParse(configJson);
  if (!config.success) throw new ConfigError(`${configPath}: ${describeIssues(config.error)}`);
  writeJsonAtomic(configPath, configJson);

  const cert =
    reusableOperatorCertificate(adminIdentityPath, spec.authority, { issuer: authorityKey, admin, ...spec.admin, now: spec.now }) ??
    spec.issue(authorityKey, admin, config.data);
  writeOperatorIdentity(adminIdentityPath, spec.authority, {
    [spec.authority]: { ...recordedAddress(spec.listen), publicKey: toHex(authorityKey.publicKey) },
    keyFile: `./${spec.files.adminKey}`,
    certificate: encodeCertificateBase64(cert),
  } as OperatorIdentityFile<A>);
  return { configPath, adminIdentityPath, authorityKey, admin };
}
