/**
 * Federation invite codes (docs/clearinghouse.md "Invites"): everything a
 * grid needs to join a clearinghouse, in one line the operator can hand to
 * the grid admin. The code carries the one-time secret (32 random bytes; the
 * clearinghouse stores only its hash), the clearinghouse's public key and
 * address, the grid's name and the area code the invite is for ('' = the
 * grid's own), and ends with a checksum (libs/grid invite-codec.ts, shared
 * with grid invites):
 *
 *   IC1-<base32 of: secret(32) | ch key(32) | name len | name | area len | area | addr len | addr | sha256(...)[0..4]>
 *
 * The name and area code in the code are for display and a local check; the
 * clearinghouse admits from what it stored with the invite.
 */
import { sha256 } from '../crypto/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { decodeInviteCode, encodeInviteCode, type InviteLayout } from '../grid/index.js';

export const GRID_INVITE_PREFIX = 'IC1-';
export const GRID_INVITE_SECRET_BYTES = 32;

export interface GridInviteCode {
  secret: Uint8Array;
  clearinghousePublicKey: Uint8Array;
  /** The name the grid is admitted under. */
  name: string;
  /** The area code the invite is for; '' = the grid manager's configured one. */
  areaCode: string;
  /** host:port of the clearinghouse. */
  address: string;
}

const enc = new TextEncoder();

const LAYOUT: InviteLayout = {
  prefix: GRID_INVITE_PREFIX,
  kind: 'federation invite code',
  headBytes: GRID_INVITE_SECRET_BYTES + 32,
  fields: [{ name: 'name' }, { name: 'area code', optional: true }, { name: 'address' }],
  misplaced: {
    'IG1-': 'this is a grid invite (IG1-), for a new node joining a grid: run intergrid join CODE --dir DIR',
  },
};

/** The code's text. @throws InvalidArgumentError for a wrong-size secret or key, or a field over 255 bytes. */
export function encodeGridInvite(inv: GridInviteCode): string {
  if (inv.secret.length !== GRID_INVITE_SECRET_BYTES || inv.clearinghousePublicKey.length !== 32) {
    throw new InvalidArgumentError('invite secret and clearinghouse key must be 32 bytes');
  }
  return encodeInviteCode(LAYOUT, new Uint8Array([...inv.secret, ...inv.clearinghousePublicKey]), [inv.name, inv.areaCode, inv.address]);
}

/**
 * Parses a code (spaces, dashes after the prefix and case are ignored).
 * @throws InvalidArgumentError naming what is wrong (a grid invite, garbled), never echoing the code.
 */
export function decodeGridInvite(text: string): GridInviteCode {
  const { head, fields } = decodeInviteCode(LAYOUT, text);
  const [name = '', areaCode = '', address = ''] = fields;
  return { secret: head.slice(0, 32), clearinghousePublicKey: head.slice(32, 64), name, areaCode, address };
}

/**
 * The bytes the grid key signs when redeeming: binds the secret, the area
 * code asked for, the grid manager key and the time, under a tag distinct
 * from grid invites' so one signature cannot serve the other.
 */
export function gridInviteSigningBytes(secretHash: Uint8Array, areaCode: string, gridManagerKey: Uint8Array, atMs: number): Uint8Array {
  return new Uint8Array([...enc.encode('intergrid-federation-invite-redeem-v1\n'), ...secretHash, ...enc.encode(`\n${areaCode}\n${atMs}\n`), ...gridManagerKey]);
}

/** What the clearinghouse stores for an invite secret. */
export function gridInviteSecretHash(secret: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([...enc.encode('intergrid-federation-invite-secret-v1\n'), ...secret]));
}
