/**
 * The grid's approved principals (servers, clients, gateways, contact points,
 * admins) and its revocation log, in knex (SQLite or PostgreSQL).
 *
 * Every write runs in one transaction and resolves only after the commit, so
 * a certificate is never handed out for an approval that is not durable. The
 * set of revoked keys is also held in memory: the auth check asks it on every
 * call and must answer synchronously. It is loaded at open and updated only
 * after a revocation commits.
 */
import type { Knex } from 'knex';
import { toHex, fromHex, shortKey } from '../../libs/crypto/index.js';
import { assertBytes, InvalidArgumentError, NotFoundError, PermissionError, PreconditionError } from '../../libs/errors/index.js';
import type { GridRole } from '../../libs/grid/index.js';
import { lockForAppend } from '../../libs/db/index.js';


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

type Row = {
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

const PRINCIPALS = 'gm_principals';
const REVOCATIONS = 'gm_revocations';
const INVITES = 'gm_invites';

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

type InviteRow = {
  secret_hash: string;
  role: string;
  name: string;
  quota_bytes: number | string;
  validity_ms: number | string;
  expires_at_ms: number | string;
  used_at_ms: number | string | null;
};

/** The body of approve(), inside a caller's transaction. */
async function approveIn<C extends { notAfter: number }>(trx: Knex.Transaction, input: ApprovalInput, now: number, issue: () => C): Promise<C> {
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

function toRecord(r: Row): PrincipalRecord {
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

export class PrincipalStore {
  private readonly revoked = new Set<string>();

  private constructor(private readonly knex: Knex) {}

  /** Opens the store over a migrated database and loads the revoked set. */
  static async open(knex: Knex): Promise<PrincipalStore> {
    const store = new PrincipalStore(knex);
    const rows: { subject: string }[] = await knex(REVOCATIONS).select('subject');
    for (const r of rows) store.revoked.add(r.subject);
    return store;
  }

  /** True when `subject` was revoked (committed). Synchronous: used by the auth check on every call. */
  isRevoked(subject: Uint8Array): boolean {
    return subject instanceof Uint8Array && this.revoked.has(toHex(subject));
  }

  async get(subject: Uint8Array, role: GridRole): Promise<PrincipalRecord | undefined> {
    const row: Row | undefined = await this.knex(PRINCIPALS).where({ subject: toHex(subject), role }).first();
    return row ? toRecord(row) : undefined;
  }

  /** Every principal, ordered by role then name. */
  async list(): Promise<PrincipalRecord[]> {
    const rows: Row[] = await this.knex(PRINCIPALS).select('*').orderBy([{ column: 'role' }, { column: 'name' }, { column: 'subject' }]);
    return rows.map(toRecord);
  }

  /** Approved clients' names and quotas, by account hex (for usage tallies). */
  async clients(): Promise<PrincipalRecord[]> {
    const rows: Row[] = await this.knex(PRINCIPALS).where({ role: 'client' }).select('*');
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

  /** Records a one-time invite (only the secret's hash). */
  async addInvite(inv: InviteInput, now: number): Promise<void> {
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
  async redeemInvite<C extends { notAfter: number }>(
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
      const row: Row | undefined = await trx(PRINCIPALS).where({ subject: hex, role }).first();
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

  /**
   * Revokes a key (every role it holds) and appends it to the revocation log.
   * Revoking a key again returns its existing log entry (no new seq).
   * @throws NotFoundError when the key was never approved.
   */
  async revoke(subject: Uint8Array, now: number): Promise<RevocationRecord> {
    assertBytes('subject', subject, 32);
    const hex = toHex(subject);
    const rec = await this.knex.transaction(async (trx) => {
      await lockForAppend(trx, REVOCATIONS);
      const rows = await trx(PRINCIPALS).where({ subject: hex }).select('role');
      if (rows.length === 0) throw new NotFoundError(`key ${shortKey(subject)} is not a principal of this grid`);
      const existing: { seq: number | string; revoked_at_ms: number | string } | undefined = await trx(REVOCATIONS).where({ subject: hex }).first();
      if (existing) return { seq: Number(existing.seq), subject, revokedAtMs: Number(existing.revoked_at_ms) };
      await trx(PRINCIPALS).where({ subject: hex }).update({ revoked: true, updated_at_ms: now });
      await trx(REVOCATIONS).insert({ subject: hex, revoked_at_ms: now });
      const row: { seq: number | string } = await trx(REVOCATIONS).where({ subject: hex }).first('seq');
      return { seq: Number(row.seq), subject, revokedAtMs: now };
    });
    this.revoked.add(hex);
    return rec;
  }

  /**
   * Revocations with seq > sinceSeq, oldest first, at most `limit`.
   * `latestSeq` is the seq to ask from next: the last one returned, or
   * `sinceSeq` when none is newer. (Not a separate max(seq) query: a
   * revocation committed between the two reads would be skipped for good.)
   */
  async listRevocations(sinceSeq: number, limit = 10_000): Promise<{ revocations: RevocationRecord[]; latestSeq: number; more: boolean }> {
    if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0) throw new InvalidArgumentError(`since_seq must be a non-negative integer, got ${sinceSeq}`);
    const rows: { seq: number | string; subject: string; revoked_at_ms: number | string }[] = await this.knex(REVOCATIONS)
      .where('seq', '>', sinceSeq)
      .orderBy('seq')
      .limit(limit + 1);
    const more = rows.length > limit;
    const page = rows.slice(0, limit).map((r) => ({ seq: Number(r.seq), subject: fromHex(r.subject, 'stored subject', 32), revokedAtMs: Number(r.revoked_at_ms) }));
    const latestSeq = page.length > 0 ? page[page.length - 1]!.seq : sinceSeq;
    return { revocations: page, latestSeq, more };
  }

  /**
   * Records a storage server's announced address and the time it was seen.
   * @throws PermissionError when the key is not an approved, unrevoked storage server.
   */
  async announce(subject: Uint8Array, address: string, now: number): Promise<void> {
    const hex = toHex(subject);
    const n = await this.knex.transaction(async (trx): Promise<number> => {
      const updated: number = await trx(PRINCIPALS)
        .where({ subject: hex, role: 'storage-server', revoked: false })
        .update({ address, last_seen_ms: now, updated_at_ms: now });
      return updated;
    });
    if (n === 0) throw new PermissionError(`key ${shortKey(subject)} is not an approved storage server of this grid`);
  }

  /**
   * Storage servers fit for the directory: approved, unrevoked, certificate
   * unexpired at `now`, and announced an address at or after `seenSinceMs`.
   * Ordered by key so the signed directory is deterministic.
   */
  async directoryServers(now: number, seenSinceMs: number): Promise<PrincipalRecord[]> {
    const rows: Row[] = await this.knex(PRINCIPALS)
      .where({ role: 'storage-server', revoked: false })
      .whereNotNull('address')
      .where('cert_not_after_ms', '>=', now)
      .where('last_seen_ms', '>=', seenSinceMs)
      .orderBy('subject');
    return rows.map(toRecord);
  }
}
