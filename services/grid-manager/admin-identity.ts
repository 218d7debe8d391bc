/**
 * The admin identity file (admin.json) written by initGridManager: who the
 * admin is and which grid manager it administers.
 *
 *   { "gridManager": { "address"?: "host:port", "publicKey": "<hex>" },
 *     "keyFile": "./admin-key.json",          // relative to admin.json
 *     "certificate": "<base64 admin certificate>" }
 */
import { z } from 'zod';
import { readKeyFile, decodeCertificateBase64, type Identity } from '../../libs/auth/index.js';
import { loadJsonConfig, resolveFrom, hexKey, listenAddress, writeJsonAtomic } from '../../libs/config/index.js';
import { fromHex } from '../../libs/crypto/index.js';
import { ConfigError } from '../../libs/errors/index.js';

export const adminIdentitySchema = z
  .object({
    gridManager: z.object({ address: listenAddress.optional(), publicKey: hexKey }).strict(),
    keyFile: z.string().min(1),
    certificate: z.string().min(1),
  })
  .strict();

export type AdminIdentityFile = z.infer<typeof adminIdentitySchema>;

export interface AdminIdentity {
  identity: Identity;
  gridManager: { publicKey: Uint8Array; address?: string };
}

/**
 * Reads admin.json, its key file and its certificate.
 * @throws ConfigError naming the file and field when any part is missing or malformed.
 */
export function loadAdminIdentity(path: string): AdminIdentity {
  const file = loadJsonConfig(path, adminIdentitySchema);
  const keyPair = readKeyFile(resolveFrom(path, file.keyFile));
  let certificate;
  try {
    certificate = decodeCertificateBase64(file.certificate);
  } catch (e) {
    throw new ConfigError(`config ${path}: certificate: ${(e as Error).message}`, { cause: e });
  }
  const gridManager: AdminIdentity['gridManager'] = { publicKey: fromHex(file.gridManager.publicKey, 'gridManager.publicKey', 32) };
  if (file.gridManager.address !== undefined) gridManager.address = file.gridManager.address;
  return { identity: { keyPair, certificates: [certificate] }, gridManager };
}

/** Writes admin.json (mode 0600: it points at a secret key). */
export function writeAdminIdentity(path: string, file: AdminIdentityFile): void {
  writeJsonAtomic(path, adminIdentitySchema.parse(file), 0o600);
}
