/**
 * The grid admin's identity file (admin.json) written by initGridManager:
 * who the admin is and which grid manager it administers. The format and its
 * checks are libs/auth's operator identity with the authority `gridManager`.
 */
import { loadOperatorIdentity, writeOperatorIdentity, operatorIdentitySchema, type Identity, type OperatorIdentityFile } from '../../libs/auth/index.js';

export const adminIdentitySchema = operatorIdentitySchema('gridManager');

export type AdminIdentityFile = OperatorIdentityFile<'gridManager'>;

export interface AdminIdentity {
  identity: Identity;
  gridManager: { publicKey: Uint8Array; address?: string };
}

/** @throws ConfigError naming the file and field when any part is missing or malformed. */
export function loadAdminIdentity(path: string): AdminIdentity {
  const { identity, authority } = loadOperatorIdentity(path, 'gridManager');
  return { identity, gridManager: authority };
}

/** Writes admin.json (mode 0600: it points at a secret key). */
export function writeAdminIdentity(path: string, file: AdminIdentityFile): void {
  writeOperatorIdentity(path, 'gridManager', file);
}
