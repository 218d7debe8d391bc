/**
 * The grid manager's membership tables (gm_principals, gm_revocations,
 * gm_invites): their row shapes and the one approval write that both Approve
 * and an invite's redemption run (principal-store.ts, invite-store.ts).
 */
import type { Knex } from 'knex';
import { toHex, fromHex, shortKey } from '../../libs/crypto/index.js';
import { PreconditionError } from '../../libs/errors/index.js';
import type { GridRole } from '../../libs/grid/index.js';

/** One approved (key, role). */
export interface PrincipalRecord {
  subject: Uint8Array;
  role: GridRole;
  name: string;
  /** Clients: per-server quota in bytes; 0 = unlimited. */
  quotaBytes: number;
  /** Validity requested at approval (0 = the grid's default for the role); reused on renewal. */
  validityMs: number;
  /** notAfter of the latest certificate issued (0 = unknown, e.g. the init admin). */
  certNotAfterMs: number;
  revoked: boolean;
  /** Storage servers: last announced address. */
  address: string | null;
  lastSeenMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface RevocationRecord {
  seq: number;
  subject: Uint8Array;
  revokedAtMs: number;
}

/** What an admin asks for when approving a key. */
export interface ApprovalInput {
  subject: Uint8Array;
  role: GridRole;
  name: string;
  quotaBytes: number;
  validityMs: number;
}

export type PrincipalRow = {
  subject: string;
  role: string;
  name: string;
  quota_bytes: number | string;
  validity_ms: number | string;
  cert_not_after_ms: number | string;
  revoked: boolean | number;
  address: string | null;
  last_seen_ms: number | string | null;
  created_at_ms: number | string;
  updated_at_ms: number | string;
};

export const PRINCIPALS = 'gm_principals';
export const REVOCATIONS = 'gm_revocations';
export const INVITES = 'gm_invites';

/** A one-time invite as stored: the secret itself never is. */
export interface InviteInput {
  secretHash: Uint8Array;
  role: GridRole;
  /** '' = the redeeming key's short form. */
  name: string;
  quotaBytes: number;
  validityMs: number;
  expiresAtMs: number;
}

export type InviteRow = {
  secret_hash: string;
  role: string;
  name: string;
  quota_bytes: number | string;
  validity_ms: number | string;
  expires_at_ms: number | string;
  used_at_ms: number | string | null;
};

/**
 * Records an approval inside a caller's transaction; `issue` runs after the
 * revocation check, and its notAfter is written with the row.
 * @throws PreconditionError when the key was revoked.
 */
export async function approveIn<C extends { notAfter: number }>(trx: Knex.Transaction, input: ApprovalInput, now: number, issue: () => C): Promise<C> {
  const subject = toHex(input.subject);
  const revoked = await trx(REVOCATIONS).where({ subject }).first();
  if (revoked) {
    throw new PreconditionError(`key ${shortKey(input.subject)} was revoked; approve a new key instead`);
  }
  const cert = issue();
  await trx(PRINCIPALS)
    .insert({
      subject,
      role: input.role,
      name: input.name,
      quota_bytes: input.quotaBytes,
      validity_ms: input.validityMs,
      cert_not_after_ms: cert.notAfter,
      revoked: false,
      created_at_ms: now,
      updated_at_ms: now,
    })
    .onConflict(['subject', 'role'])
    .merge(['name', 'quota_bytes', 'validity_ms', 'cert_not_after_ms', 'updated_at_ms']);
  return cert;
}

export function toRecord(r: PrincipalRow): PrincipalRecord {
  return {
    subject: fromHex(r.subject, 'stored subject', 32),
    role: r.role as GridRole,
    name: r.name,
    quotaBytes: Number(r.quota_bytes),
    validityMs: Number(r.validity_ms),
    certNotAfterMs: Number(r.cert_not_after_ms),
    revoked: Boolean(r.revoked),
    address: r.address,
    lastSeenMs: r.last_seen_ms === null ? null : Number(r.last_seen_ms),
    createdAtMs: Number(r.created_at_ms),
    updatedAtMs: Number(r.updated_at_ms),
  };
}
