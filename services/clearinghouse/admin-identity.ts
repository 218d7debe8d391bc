/**
 * The clearinghouse operator's identity file (admin.json) written by
 * initClearinghouse. The format and its checks are libs/auth's operator
 * identity with the authority `clearinghouse`.
 */
import { loadOperatorIdentity, writeOperatorIdentity, operatorIdentitySchema, type Identity, type OperatorIdentityFile } from '../../libs/auth/index.js';

export const clearinghouseAdminSchema = operatorIdentitySchema('clearinghouse');

export type ClearinghouseAdminFile = OperatorIdentityFile<'clearinghouse'>;

export interface ClearinghouseAdmin {
  identity: Identity;
  clearinghouse: { publicKey: Uint8Array; address?: string };
}

/** @throws ConfigError naming the file and field when any part is missing or malformed. */
export function loadClearinghouseAdmin(path: string): ClearinghouseAdmin {
  const { identity, authority } = loadOperatorIdentity(path, 'clearinghouse');
  return { identity, clearinghouse: authority };
}

/** Writes admin.json (mode 0600: it points at a secret key). */
export function writeClearinghouseAdmin(path: string, file: ClearinghouseAdminFile): void {
  writeOperatorIdentity(path, 'clearinghouse', file);
}
