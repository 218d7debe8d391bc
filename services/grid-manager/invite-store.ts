/**
 * The grid's one-time invites (gm_invites): only a secret's hash is stored;
 * redeeming approves the new key like Approve, in the same transaction
 * (docs/grid-manager.md "Invites").
 */
import type { Knex } from 'knex';
import { toHex, shortKey } from '../../libs/crypto/index.js';
import { assertBytes, PermissionError, PreconditionError } from '../../libs/errors/index.js';
import type { GridRole } from '../../libs/grid/index.js';
import { approveIn, INVITES, type ApprovalInput, type InviteInput, type InviteRow } from './principal-rows.js';

export type { InviteInput } from './principal-rows.js';

export class InviteStore {
  constructor(private readonly knex: Knex) {}

  /** Records a one-time invite (only the secret's hash). */
  async add(inv: InviteInput, now: number): Promise<void> {
    await this.knex(INVITES).insert({
      secret_hash: toHex(inv.secretHash),
      role: inv.role,
      name: inv.name,
      quota_bytes: inv.quotaBytes,
      validity_ms: inv.validityMs,
      expires_at_ms: inv.expiresAtMs,
      created_at_ms: now,
    });
  }

  /**
   * Redeems an invite for `subject` and approves it like Approve would, in
   * one transaction: the invite is marked used only if the approval commits,
   * and of two concurrent redemptions exactly one wins (conditional update).
   * `name` '' in the invite = the key's short form.
   * @throws PermissionError for an unknown secret or a role that differs from the invite's;
   *   PreconditionError for a used or expired invite, or a revoked key.
   */
  async redeem<C extends { notAfter: number }>(
    secretHash: Uint8Array,
    role: string,
    subject: Uint8Array,
    now: number,
    issue: (a: ApprovalInput) => C,
  ): Promise<C> {
    assertBytes('subject', subject, 32);
    const hash = toHex(secretHash);
    return this.knex.transaction(async (trx) => {
      const row: InviteRow | undefined = await trx(INVITES).where({ secret_hash: hash }).first();
      if (!row) throw new PermissionError('invite code is not known to this grid manager (forged, mistyped, or for another grid)');
      if (row.used_at_ms !== null) {
        throw new PreconditionError(`invite already used (redeemed at ${new Date(Number(row.used_at_ms)).toISOString()}); ask the grid admin for a new one`);
      }
      const expiresAt = Number(row.expires_at_ms);
      if (now >= expiresAt) throw new PreconditionError(`invite expired at ${new Date(expiresAt).toISOString()}; ask the grid admin for a new one`);
      if (row.role !== role) throw new PermissionError(`this invite is for role ${row.role}, not ${role.slice(0, 40)}`);
      const updated: number = await trx(INVITES).where({ secret_hash: hash }).whereNull('used_at_ms').update({ used_at_ms: now, used_by: toHex(subject) });
      if (updated !== 1) throw new PreconditionError('invite already used; ask the grid admin for a new one');
      const input: ApprovalInput = {
        subject,
        role: row.role as GridRole,
        name: row.name || shortKey(subject),
        quotaBytes: Number(row.quota_bytes),
        validityMs: Number(row.validity_ms),
      };
      return approveIn(trx, input, now, () => issue(input));
    });
  }
}
