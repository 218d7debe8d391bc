/**
 * The grid's revocation log (gm_revocations): revoking a key marks every
 * role it holds and appends one entry, which storage servers poll by seq
 * (ListRevocations). The set of revoked keys is also held in memory: the
 * auth check asks it on every call and must answer synchronously. It is
 * loaded at open and updated only after a revocation commits.
 */
import type { Knex } from 'knex';
import { toHex, fromHex, shortKey } from '../../libs/crypto/index.js';
import { assertBytes, InvalidArgumentError, NotFoundError } from '../../libs/errors/index.js';
import { lockForAppend } from '../../libs/db/index.js';
import { PRINCIPALS, REVOCATIONS, type RevocationRecord } from './principal-rows.js';

export type { RevocationRecord } from './principal-rows.js';

export class RevocationLog {
  private readonly revoked = new Set<string>();

  private constructor(private readonly knex: Knex) {}

  /** Opens the log over a migrated database and loads the revoked set. */
  static async open(knex: Knex): Promise<RevocationLog> {
    const log = new RevocationLog(knex);
    const rows: { subject: string }[] = await knex(REVOCATIONS).select('subject');
    for (const r of rows) log.revoked.add(r.subject);
    return log;
  }

  /** True when `subject` was revoked (committed). Synchronous: used by the auth check on every call. */
  isRevoked(subject: Uint8Array): boolean {
    return subject instanceof Uint8Array && this.revoked.has(toHex(subject));
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
  async since(sinceSeq: number, limit = 10_000): Promise<{ revocations: RevocationRecord[]; latestSeq: number; more: boolean }> {
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
}
