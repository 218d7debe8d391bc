/**
 * Invite codes (docs/grid-manager.md "Invites"): everything a new node needs
 * to join a grid, in one line an admin can paste. The code carries the
 * one-time secret (32 random bytes; the grid manager stores only its hash),
 * the grid manager's public key and address, the area code and the role, and
 * ends with a checksum so a mistyped code is refused before anything is sent.
 *
 *   IG1-<base32 of: secret(32) | gm key(32) | role len | role | area len | area | addr len | addr | sha256(...)[0..4]>
 */
import { base32nopad } from '@scure/base';
import { bytesEqual, sha256 } from '../crypto/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { isGridRole, type GridRole } from './grid-roles.js';

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
const dec = new TextDecoder('utf-8', { fatal: true });

function field(s: string, what: string): Uint8Array {
  const b = enc.encode(s);
  if (b.length === 0 || b.length > 255) throw new InvalidArgumentError(`invite ${what} must be 1..255 bytes`);
  return new Uint8Array([b.length, ...b]);
}

/** The code's text. */
export function encodeInvite(inv: InviteCode): string {
  if (inv.secret.length !== INVITE_SECRET_BYTES || inv.gridManagerKey.length !== 32) throw new InvalidArgumentError('invite secret and grid manager key must be 32 bytes');
  const body = new Uint8Array([...inv.secret, ...inv.gridManagerKey, ...field(inv.role, 'role'), ...field(inv.areaCode, 'area code'), ...field(inv.address, 'address')]);
  const sum = sha256(body).subarray(0, 4);
  return INVITE_PREFIX + base32nopad.encode(new Uint8Array([...body, ...sum]));
}

/**
 * Parses a code (spaces, dashes after the prefix and case are ignored).
 * @throws InvalidArgumentError naming what is wrong, never echoing the code.
 */
export function decodeInvite(text: string): InviteCode {
  const t = text.trim().toUpperCase();
  if (!t.startsWith(INVITE_PREFIX)) throw new InvalidArgumentError(`not an Intergrid invite code: it should start with ${INVITE_PREFIX}`);
  let raw: Uint8Array;
  try {
    raw = base32nopad.decode(t.slice(INVITE_PREFIX.length).replace(/[\s-]/g, ''));
  } catch {
    throw new InvalidArgumentError('invite code is garbled: not valid base32 (check it was copied whole)');
  }
  const garbled = new InvalidArgumentError('invite code is garbled: its checksum does not match (check it was copied whole)');
  if (raw.length < 64 + 3 + 4) throw garbled;
  const body = raw.subarray(0, raw.length - 4);
  if (!bytesEqual(sha256(body).subarray(0, 4), raw.subarray(raw.length - 4))) throw garbled;
  let pos = 64;
  const next = (): string => {
    const n = body[pos] ?? 0;
    if (n === 0 || pos + 1 + n > body.length) throw garbled;
    const s = dec.decode(body.subarray(pos + 1, pos + 1 + n));
    pos += 1 + n;
    return s;
  };
  const role = next();
  const areaCode = next();
  const address = next();
  if (pos !== body.length) throw garbled;
  if (!isGridRole(role)) throw new InvalidArgumentError(`invite code names an unknown role '${role.slice(0, 40)}'`);
  return { secret: body.slice(0, 32), gridManagerKey: body.slice(32, 64), role, areaCode, address };
}

/** The bytes the new key signs when redeeming: binds the secret, role, key and time. */
export function redeemSigningBytes(secretHash: Uint8Array, role: string, subject: Uint8Array, atMs: number): Uint8Array {
  return new Uint8Array([...enc.encode('intergrid-invite-redeem-v1\n'), ...secretHash, ...enc.encode(`\n${role}\n${atMs}\n`), ...subject]);
}

/** What the grid manager stores for an invite secret. */
export function inviteSecretHash(secret: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([...enc.encode('intergrid-invite-secret-v1\n'), ...secret]));
}
