/**
 * The clearinghouse operator's identity file (admin.json) written by
 * initClearinghouse:
 *
 *   { "clearinghouse": { "address"?: "host:port", "publicKey": "<hex>" },
 *     "keyFile": "./admin-key.json",          // relative to admin.json
 *     "certificate": "<base64 clearinghouse-admin certificate>" }
 */
import { z } from 'zod';
import { readKeyFile, decodeCertificateBase64, type Identity } from '../../libs/auth/index.js';
import { loadJsonConfig, resolveFrom, hexKey, listenAddress, writeJsonAtomic } from '../../libs/config/index.js';
import { fromHex } from '../../libs/crypto/index.js';
import { ConfigError } from '../../libs/errors/index.js';

export const clearinghouseAdminSchema = z
  .object({
    clearinghouse: z.object({ address: listenAddress.optional(), publicKey: hexKey }).strict(),
    keyFile: z.string().min(1),
    certificate: z.string().min(1),
  })
  .strict();

export type ClearinghouseAdminFile = z.infer<typeof clearinghouseAdminSchema>;

export interface ClearinghouseAdmin {
  identity: Identity;
  clearinghouse: { publicKey: Uint8Array; address?: string };
}

/**
 * Reads admin.json, its key file and its certificate.
 * @throws ConfigError naming the file and field when any part is missing or malformed.
 */
export function loadClearinghouseAdmin(path: string): ClearinghouseAdmin {
  const file = loadJsonConfig(path, clearinghouseAdminSchema);
  const keyPair = readKeyFile(resolveFrom(path, file.keyFile));
  let certificate;
  try {
    certificate = decodeCertificateBase64(file.certificate);
  } catch (e) {
    throw new ConfigError(`config ${path}: certificate: ${(e as Error).message}`, { cause: e });
  }
  const clearinghouse: ClearinghouseAdmin['clearinghouse'] = { publicKey: fromHex(file.clearinghouse.publicKey, 'clearinghouse.publicKey', 32) };
  if (file.clearinghouse.address !== undefined) clearinghouse.address = file.clearinghouse.address;
  return { identity: { keyPair, certificates: [certificate] }, clearinghouse };
}

/** Writes admin.json (mode 0600: it points at a secret key). */
export function writeClearinghouseAdmin(path: string, file: ClearinghouseAdminFile): void {
  writeJsonAtomic(path, clearinghouseAdminSchema.parse(file), 0o600);
}
