/**
 * Invite codes (docs/grid-manager.md "Invites"): everything a new node needs
 * to join a grid, in one line an admin can paste. The code carries the
 * one-time secret (32 random bytes; the grid manager stores only its hash),
 * the grid manager's public key and address, the area code and the role, and
 * ends with a checksum so a mistyped code is refused before anything is sent.
 *
 *   IG1-<base32 of: secret(32) | gm key(32) | role len | role | area len | area | addr len | addr | sha256(...)[0..4]>
 *
 * The text codec is shared with federation invites (invite-codec.ts).
 */
import { sha256 } from '../crypto/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { isGridRole, type GridRole } from './grid-roles.js';
import { decodeInviteCode, encodeInviteCode, type InviteLayout } from './invite-codec.js';

export const INVITE_PREFIX = 'IG1-';
export const INVITE_SECRET_BYTES = 32;

export interface InviteCode {
  secret: Uint8Array;
  gridManagerKey: Uint8Array;
  role: GridRole;
  areaCode: string;
  /** host:port of the grid manager. */
  address: string;
}

const enc = new TextEncoder();

const LAYOUT: InviteLayout = {
  prefix: INVITE_PREFIX,
  kind: 'grid invite code',
  headBytes: INVITE_SECRET_BYTES + 32,
  fields: [{ name: 'role' }, { name: 'area code' }, { name: 'address' }],
  misplaced: {
    'IC1-': 'this is a federation invite (IC1-), for a grid joining a clearinghouse: run intergrid grid join-federation CODE --config GRID_MANAGER_CONFIG on the grid manager\'s machine',
  },
};

/** The code's text. */
export function encodeInvite(inv: InviteCode): string {
  if (inv.secret.length !== INVITE_SECRET_BYTES || inv.gridManagerKey.length !== 32) throw new InvalidArgumentError('invite secret and grid manager key must be 32 bytes');
  return encodeInviteCode(LAYOUT, new Uint8Array([...inv.secret, ...inv.gridManagerKey]), [inv.role, inv.areaCode, inv.address]);
}

/**
 * Parses a code (spaces, dashes after the prefix and case are ignored).
 * @throws InvalidArgumentError naming what is wrong, never echoing the code.
 */
export function decodeInvite(text: string): InviteCode {
  const { head, fields } = decodeInviteCode(LAYOUT, text);
  const [role = '', areaCode = '', address = ''] = fields;
  if (!isGridRole(role)) throw new InvalidArgumentError(`invite code names an unknown role '${role.slice(0, 40)}'`);
  return { secret: head.slice(0, 32), gridManagerKey: head.slice(32, 64), role, areaCode, address };
}

/** The bytes the new key signs when redeeming: binds the secret, role, key and time. */
export function redeemSigningBytes(secretHash: Uint8Array, role: string, subject: Uint8Array, atMs: number): Uint8Array {
  return new Uint8Array([...enc.encode('intergrid-invite-redeem-v1\n'), ...secretHash, ...enc.encode(`\n${role}\n${atMs}\n`), ...subject]);
}

/** What the grid manager stores for an invite secret. */
export function inviteSecretHash(secret: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([...enc.encode('intergrid-invite-secret-v1\n'), ...secret]));
}
