/**
 * Share metadata, leases, allocations and corruption reports (knex; SQLite
 * by default, PostgreSQL for larger operators). Every multi-row change runs
 * in one transaction, so a crash leaves either the old or the new state.
 * Storage indexes and accounts are stored as lowercase hex.
 */
import type { Knex } from 'knex';
import { openDatabase, type DatabaseConfig } from '../../libs/db/index.js';
import { QuotaError, PreconditionError, NotFoundError } from '../../libs/errors/index.js';
import { storageMigrations, STORAGE_MIGRATIONS_TABLE } from './migrations.js';

/** A complete share as recorded in the database. */
export interface ShareRecord {
  storageIndex: string;
  shareNumber: number;
  size: number;
}

/** An account's space use on this server. */
export interface AccountUsage {
  account: string;
  /** Bytes of complete shares under the account's unexpired leases. */
  storedBytes: number;
  /** Number of those shares. */
  shares: number;
  /** Bytes reserved by unexpired allocations not yet written. */
  reservedBytes: number;
}

export interface AllocateInput {
  storageIndex: string;
  shareNumbers: number[];
  size: number;
  account: string;
  /** 0 = unlimited. */
  quotaBytes: number;
  now: number;
  leaseDurationMs: number;
  reservationTtlMs: number;
  /** Held shares the caller checked and found not to be its own: allocated beside them anyway. */
  replace?: number[];
}

export interface CommitInput {
  storageIndex: string;
  shareNumber: number;
  size: number;
  account: string;
  now: number;
  leaseDurationMs: number;
  /** The held row is replaced (its file did not verify and was overwritten by this upload's). */
  replace?: boolean;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export class MetadataStore {
  private constructor(readonly knex: Knex) {}

  /** Opens the database and applies migrations. */
  static async open(config: DatabaseConfig): Promise<MetadataStore> {
    return new MetadataStore(await openDatabase(config, storageMigrations, STORAGE_MIGRATIONS_TABLE));
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }

  async listShares(storageIndex: string): Promise<ShareRecord[]> {
    const rows = await this.knex('shares').where({ storage_index: storageIndex }).orderBy('share_number');
    return rows.map(toShare);
  }

  async getShare(storageIndex: string, shareNumber: number): Promise<ShareRecord | undefined> {
    const row = await this.knex('shares').where({ storage_index: storageIndex, share_number: shareNumber }).first();
    return row ? toShare(row) : undefined;
  }

  async allShares(): Promise<ShareRecord[]> {
    return (await this.knex('shares').select()).map(toShare);
  }

  /** Usage of one account (see AccountUsage). */
  async accountUsage(account: string, now: number, db: Knex | Knex.Transaction = this.knex): Promise<AccountUsage> {
    const stored = await db('shares')
      .join('leases', 'leases.storage_index', 'shares.storage_index')
      .where('leases.account', account)
      .andWhere('leases.expires_at_ms', '>', now)
      .sum({ bytes: 'shares.size' })
      .count({ shares: '*' })
      .first();
    const reserved = await db('allocations')
      .where({ account })
      .andWhere('expires_at_ms', '>', now)
      .sum({ bytes: 'size' })
      .first();
    return { account, storedBytes: num(stored?.bytes), shares: num(stored?.shares), reservedBytes: num(reserved?.bytes) };
  }

  /** Stored bytes and share counts of every account holding an unexpired lease (usage reports). */
  async usageByAccount(now: number): Promise<AccountUsage[]> {
    const rows: { account: unknown; bytes: unknown; shares: unknown }[] = await this.knex('shares')
      .join('leases', 'leases.storage_index', 'shares.storage_index')
      .where('leases.expires_at_ms', '>', now)
      .groupBy('leases.account')
      .select('leases.account as account')
      .sum({ bytes: 'shares.size' })
      .count({ shares: '*' });
    return rows.map((r) => ({ account: String(r.account), storedBytes: num(r.bytes), shares: num(r.shares), reservedBytes: 0 }));
  }

  /**
   * Reserves space for the shares not yet held and leases those already
   * held, in one transaction. A held share counts as held only when its size
   * is the requested one and the caller did not list it in `replace` (it
   * read the share and found it is not its own): otherwise it is allocated
   * like a missing one, so a planted share never passes for the caller's
   * (docs/storage.md "Conflicting shares"). Quota rule: stored + reserved + requested must
   * not exceed `quotaBytes`, where requested is the new reservations plus
   * the bytes of held shares the account does not lease yet.
   * @throws QuotaError naming the quota, the current usage and the request.
   */
  async allocate(input: AllocateInput): Promise<{ alreadyHave: number[]; allocated: number[] }> {
    const { storageIndex, account, now } = input;
    return this.knex.transaction(async (trx) => {
      const all = (await trx('shares').where({ storage_index: storageIndex })).map(toShare);
      const replace = new Set(input.replace ?? []);
      const held = all.filter((s) => s.size === input.size && !replace.has(s.shareNumber));
      const heldNumbers = new Set(held.map((s) => s.shareNumber));
      const alreadyHave = input.shareNumbers.filter((n) => heldNumbers.has(n)).sort((a, b) => a - b);
      const allocated = input.shareNumbers.filter((n) => !heldNumbers.has(n)).sort((a, b) => a - b);
      const lease = await trx('leases').where({ storage_index: storageIndex, account }).andWhere('expires_at_ms', '>', now).first();
      // A retried allocation replaces the caller's earlier one rather than counting twice.
      const previous = await trx('allocations')
        .where({ storage_index: storageIndex, account })
        .whereIn('share_number', allocated)
        .andWhere('expires_at_ms', '>', now)
        .sum({ bytes: 'size' })
        .first();
      const newLeaseBytes = alreadyHave.length > 0 && !lease ? held.reduce((a, s) => a + s.size, 0) : 0;
      const requested = allocated.length * input.size + newLeaseBytes;
      if (input.quotaBytes > 0 && requested > 0) {
        const usage = await this.accountUsage(account, now, trx);
        const current = usage.storedBytes + usage.reservedBytes - num(previous?.bytes);
        if (current + requested > input.quotaBytes) {
          throw new QuotaError(
            `quota exceeded: account ${account.slice(0, 16)}… has quota ${input.quotaBytes} bytes, uses ${current} bytes ` +
              `(${usage.storedBytes} stored, ${usage.reservedBytes - num(previous?.bytes)} reserved), and requested ${requested} more bytes`,
          );
        }
      }
      for (const shareNumber of allocated) {
        await trx('allocations')
          .insert({ storage_index: storageIndex, share_number: shareNumber, account, size: input.size, expires_at_ms: now + input.reservationTtlMs })
          .onConflict(['storage_index', 'share_number', 'account'])
          .merge(['size', 'expires_at_ms']);
      }
      if (alreadyHave.length > 0) await upsertLease(trx, storageIndex, account, now + input.leaseDurationMs);
      return { alreadyHave, allocated };
    });
  }

  /** The caller's unexpired allocation of one share, if any. */
  async findAllocation(storageIndex: string, shareNumber: number, account: string, now: number): Promise<{ size: number } | undefined> {
    const row = await this.knex('allocations')
      .where({ storage_index: storageIndex, share_number: shareNumber, account })
      .andWhere('expires_at_ms', '>', now)
      .first();
    return row ? { size: num(row.size) } : undefined;
  }

  /**
   * Records a share whose file is already durable in place, the caller's
   * lease, and drops the reservation: one transaction, the acknowledgement.
   * An existing row (another upload finished first) is kept.
   * @throws PreconditionError when the share is new and its allocation was
   *   aborted or expired meanwhile (the reservation no longer covers it).
   */
  async commitShare(input: CommitInput): Promise<{ leaseExpiresAtMs: number }> {
    const { storageIndex, shareNumber, account, now } = input;
    return this.knex.transaction(async (trx) => {
      const deleted = await trx('allocations').where({ storage_index: storageIndex, share_number: shareNumber, account }).delete();
      const existing = await trx('shares').where({ storage_index: storageIndex, share_number: shareNumber }).first();
      if (existing && input.replace) {
        if (deleted === 0) {
          throw new PreconditionError(`allocation of share ${shareNumber} of ${storageIndex} was aborted or expired before the upload finished`);
        }
        await trx('shares').where({ storage_index: storageIndex, share_number: shareNumber }).update({ size: input.size, created_at_ms: now });
      } else if (!existing) {
        if (deleted === 0) {
          throw new PreconditionError(`allocation of share ${shareNumber} of ${storageIndex} was aborted or expired before the upload finished`);
        }
        await trx('shares').insert({ storage_index: storageIndex, share_number: shareNumber, size: input.size, created_at_ms: now });
      }
      const leaseExpiresAtMs = await upsertLease(trx, storageIndex, account, now + input.leaseDurationMs);
      return { leaseExpiresAtMs };
    });
  }

  /** Drops the caller's allocations of `shareNumbers` (all of them on this index when empty). */
  async abort(storageIndex: string, shareNumbers: number[], account: string): Promise<number> {
    const q = this.knex('allocations').where({ storage_index: storageIndex, account });
    if (shareNumbers.length > 0) q.whereIn('share_number', shareNumbers);
    return q.delete();
  }

  /**
   * Sets the caller's lease on every share of the index to `now + duration`.
   * A new lease (not a renewal) adds the index's bytes to the account and is
   * quota-checked like an allocation.
   * @throws NotFoundError when no share of the index is held; QuotaError.
   */
  async renewLease(storageIndex: string, account: string, quotaBytes: number, now: number, durationMs: number): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const held = (await trx('shares').where({ storage_index: storageIndex })).map(toShare);
      if (held.length === 0) throw new NotFoundError(`no shares held for storage index ${storageIndex}`);
      const lease = await trx('leases').where({ storage_index: storageIndex, account }).andWhere('expires_at_ms', '>', now).first();
      if (!lease && quotaBytes > 0) {
        const bytes = held.reduce((a, s) => a + s.size, 0);
        const usage = await this.accountUsage(account, now, trx);
        const current = usage.storedBytes + usage.reservedBytes;
        if (current + bytes > quotaBytes) {
          throw new QuotaError(
            `quota exceeded: account ${account.slice(0, 16)}… has quota ${quotaBytes} bytes, uses ${current} bytes, and a new lease on ${storageIndex} requests ${bytes} more bytes`,
          );
        }
      }
      await trx('leases').where({ storage_index: storageIndex, account }).delete();
      const expires = now + durationMs;
      await trx('leases').insert({ storage_index: storageIndex, account, expires_at_ms: expires });
      return expires;
    });
  }

  async recordCorrupt(storageIndex: string, shareNumber: number, reporter: string, reason: string, now: number): Promise<void> {
    await this.knex('corrupt_reports').insert({ storage_index: storageIndex, share_number: shareNumber, reporter, reason, reported_at_ms: now });
  }

  /** Server-wide totals. */
  async totals(): Promise<{ shares: number; bytes: number; corruptReports: number }> {
    const s = await this.knex('shares').count({ n: '*' }).sum({ bytes: 'size' }).first();
    const c = await this.knex('corrupt_reports').count({ n: '*' }).first();
    return { shares: num(s?.n), bytes: num(s?.bytes), corruptReports: num(c?.n) };
  }

  /** Shares none of whose leases is unexpired: candidates for garbage collection. */
  async unleasedShares(now: number): Promise<ShareRecord[]> {
    const rows = await this.knex('shares')
      .whereNotExists((q) => {
        q.select(this.knex.raw('1'))
          .from('leases')
          .whereRaw('leases.storage_index = shares.storage_index')
          .andWhere('leases.expires_at_ms', '>', now);
      })
      .select();
    return rows.map(toShare);
  }

  /**
   * Deletes a share row if it is still unleased at `now` (re-checked inside
   * the transaction, so a lease renewed meanwhile wins). True if deleted.
   */
  async deleteShareIfUnleased(storageIndex: string, shareNumber: number, now: number): Promise<boolean> {
    return this.knex.transaction(async (trx) => {
      const live = await trx('leases').where({ storage_index: storageIndex }).andWhere('expires_at_ms', '>', now).first();
      if (live) return false;
      const n = await trx('shares').where({ storage_index: storageIndex, share_number: shareNumber }).delete();
      return n > 0;
    });
  }

  /** Deletes a share row unconditionally (reconciliation: its file is missing or wrong). */
  async deleteShare(storageIndex: string, shareNumber: number): Promise<void> {
    await this.knex('shares').where({ storage_index: storageIndex, share_number: shareNumber }).delete();
  }

  /** Deletes expired lease rows (they no longer protect anything). */
  async deleteExpiredLeases(now: number): Promise<number> {
    return this.knex('leases').where('expires_at_ms', '<=', now).delete();
  }

  /** Expired allocations (reservations never written). */
  async expiredAllocations(now: number): Promise<{ storageIndex: string; shareNumber: number; account: string }[]> {
    const rows = await this.knex('allocations').where('expires_at_ms', '<=', now).select();
    return rows.map((r) => ({ storageIndex: String(r.storage_index), shareNumber: num(r.share_number), account: String(r.account) }));
  }

  async deleteAllocation(storageIndex: string, shareNumber: number, account: string, now: number): Promise<void> {
    await this.knex('allocations')
      .where({ storage_index: storageIndex, share_number: shareNumber, account })
      .andWhere('expires_at_ms', '<=', now)
      .delete();
  }

  /** Extends an allocation while its upload is in progress, so GC never drops a reservation being written. */
  async touchAllocation(storageIndex: string, shareNumber: number, account: string, expiresAtMs: number): Promise<void> {
    await this.knex('allocations')
      .where({ storage_index: storageIndex, share_number: shareNumber, account })
      .andWhere('expires_at_ms', '<', expiresAtMs)
      .update({ expires_at_ms: expiresAtMs });
  }
}

/** Sets a lease to at least `expires` (never shortens an existing one); returns the resulting expiry. */
async function upsertLease(trx: Knex.Transaction, storageIndex: string, account: string, expires: number): Promise<number> {
  const row = await trx('leases').where({ storage_index: storageIndex, account }).first();
  if (!row) {
    await trx('leases').insert({ storage_index: storageIndex, account, expires_at_ms: expires });
    return expires;
  }
  const current = num(row.expires_at_ms);
  if (current >= expires) return current;
  await trx('leases').where({ storage_index: storageIndex, account }).update({ expires_at_ms: expires });
  return expires;
}

function toShare(row: Record<string, unknown>): ShareRecord {
  return { storageIndex: String(row.storage_index), shareNumber: num(row.share_number), size: num(row.size) };
}
