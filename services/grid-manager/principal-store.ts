/**
 * The grid's approved principals (servers, clients, gateways, contact points,
 * admins), in knex (SQLite or PostgreSQL): approval, renewal and the lists
 * the handlers and status read. Revocation is revocation-log.ts, invites
 * invite-store.ts, server announcements server-announcements.ts; the tables
 * and the approval write they share are principal-rows.ts.
 *
 * Every write runs in one transaction and resolves only after the commit, so
 * a certificate is never handed out for an approval that is not durable.
 */
import type { Knex } from 'knex';
import { toHex, shortKey } from '../../libs/crypto/index.js';
import { assertBytes, PermissionError } from '../../libs/errors/index.js';
import type { GridRole } from '../../libs/grid/index.js';
import { approveIn, toRecord, PRINCIPALS, REVOCATIONS, type ApprovalInput, type PrincipalRecord, type PrincipalRow } from './principal-rows.js';

export type { ApprovalInput, PrincipalRecord } from './principal-rows.js';

export class PrincipalStore {
  constructor(private readonly knex: Knex) {}

  async get(subject: Uint8Array, role: GridRole): Promise<PrincipalRecord | undefined> {
    const row: PrincipalRow | undefined = await this.knex(PRINCIPALS).where({ subject: toHex(subject), role }).first();
    return row ? toRecord(row) : undefined;
  }

  /** Every principal, ordered by role then name. */
  async list(): Promise<PrincipalRecord[]> {
    const rows: PrincipalRow[] = await this.knex(PRINCIPALS).select('*').orderBy([{ column: 'role' }, { column: 'name' }, { column: 'subject' }]);
    return rows.map(toRecord);
  }

  /** Approved clients' names and quotas, by account hex (for usage tallies). */
  async clients(): Promise<PrincipalRecord[]> {
    const rows: PrincipalRow[] = await this.knex(PRINCIPALS).where({ role: 'client' }).select('*');
    return rows.map(toRecord);
  }

  /**
   * Records an approval and issues its certificate in one transaction:
   * `issue` runs inside it, and the certificate is returned only after the
   * row (with the certificate's notAfter) is committed. Approving an existing
   * (key, role) again updates its name, quota and validity.
   * @throws PreconditionError when the key was revoked (revocation is final:
   *   storage servers have already been told; approve a new key instead).
   */
  async approve<C extends { notAfter: number }>(input: ApprovalInput, now: number, issue: () => C): Promise<C> {
    assertBytes('subject', input.subject, 32);
    return this.knex.transaction(async (trx) => approveIn(trx, input, now, issue));
  }

  /**
   * Registers keys as approved admins unless already present (the admin key
   * written by init, listed in the config's adminKeys). Never un-revokes.
   */
  async ensureAdmins(keys: Uint8Array[], now: number): Promise<void> {
    if (keys.length === 0) return;
    await this.knex.transaction(async (trx) => {
      for (const key of keys) {
        await trx(PRINCIPALS)
          .insert({ subject: toHex(key), role: 'admin', name: 'admin', created_at_ms: now, updated_at_ms: now, revoked: false })
          .onConflict(['subject', 'role'])
          .ignore();
      }
    });
  }

  /**
   * Renews the certificate of an approved, unrevoked (key, role): `issue`
   * gets the stored record (so the fresh certificate carries the same role and
   * limits) and runs inside the transaction; the new notAfter is committed
   * before the certificate is returned.
   * @throws PermissionError when the key is not approved for the role or is revoked.
   */
  async renew<C extends { notAfter: number }>(subject: Uint8Array, role: GridRole, now: number, issue: (rec: PrincipalRecord) => C): Promise<C> {
    const hex = toHex(subject);
    return this.knex.transaction(async (trx) => {
      const row: PrincipalRow | undefined = await trx(PRINCIPALS).where({ subject: hex, role }).first();
      if (!row) throw new PermissionError(`key ${shortKey(subject)} is not approved as ${role} in this grid`);
      const rec = toRecord(row);
      if (rec.revoked || (await trx(REVOCATIONS).where({ subject: hex }).first())) {
        throw new PermissionError(`key ${shortKey(subject)} is revoked`);
      }
      const cert = issue(rec);
      await trx(PRINCIPALS).where({ subject: hex, role }).update({ cert_not_after_ms: cert.notAfter, updated_at_ms: now });
      return cert;
    });
  }
}
