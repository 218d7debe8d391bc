/**
 * Files the repairer watches (gm_watched_files, docs/repair.md): each
 * verify-cap once (by storage index), when it is next due, and what its
 * last check and repair found.
 */
import type { Knex } from 'knex';
import { formatCap, type VerifyCap } from '../../libs/caps/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import type { WatchedFileInfo } from '../../libs/grid/index.js';

const WATCHED = 'gm_watched_files';

/** A watched file as the admin RPCs show it (storage index as bytes). */
export type WatchedFileRecord = WatchedFileInfo;

/** What one check (and repair) of a file found. */
export interface CheckOutcome {
  goodShares: number;
  happiness: number;
  healthy: boolean;
  repaired: number;
  leaseExpiresAtMs: number;
  problem: string;
}

interface Row {
  storage_index: string;
  verify_cap: string;
  n: number;
  added_at_ms: number | string;
  next_check_at_ms: number | string;
  last_checked_at_ms: number | string | null;
  good_shares: number;
  happiness: number;
  healthy: boolean | number;
  shares_repaired: number | string;
  lease_expires_at_ms: number | string;
  last_problem: string;
}

function fromRow(r: Row): WatchedFileRecord {
  return {
    verifyCap: r.verify_cap,
    storageIndex: fromHex(r.storage_index),
    n: Number(r.n),
    addedAtMs: Number(r.added_at_ms),
    nextCheckAtMs: Number(r.next_check_at_ms),
    lastCheckedAtMs: Number(r.last_checked_at_ms ?? 0),
    goodShares: Number(r.good_shares),
    happiness: Number(r.happiness),
    healthy: Boolean(r.healthy),
    sharesRepaired: Number(r.shares_repaired),
    leaseExpiresAtMs: Number(r.lease_expires_at_ms),
    lastProblem: r.last_problem,
  };
}

export class WatchStore {
  constructor(private readonly knex: Knex) {}

  /** Watches `cap` (due now); watching it again keeps its record and makes it due now. */
  async watch(cap: VerifyCap, now: number): Promise<WatchedFileRecord> {
    const si = toHex(cap.storageIndex);
    await this.knex(WATCHED)
      .insert({ storage_index: si, verify_cap: formatCap(cap), n: cap.n, added_at_ms: now, next_check_at_ms: now })
      .onConflict('storage_index')
      .merge({ next_check_at_ms: now });
    return (await this.get(si))!;
  }

  /** Stops watching; false when it was not watched. */
  async unwatch(storageIndex: string): Promise<boolean> {
    return (await this.knex(WATCHED).where({ storage_index: storageIndex }).delete()) > 0;
  }

  async get(storageIndex: string): Promise<WatchedFileRecord | undefined> {
    const row = (await this.knex(WATCHED).where({ storage_index: storageIndex }).first()) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every watched file, the soonest due first. */
  async list(): Promise<WatchedFileRecord[]> {
    return ((await this.knex(WATCHED).orderBy([{ column: 'next_check_at_ms' }, { column: 'storage_index' }])) as Row[]).map(fromRow);
  }

  /** Up to `limit` files due at `now`, the most overdue first. */
  async due(now: number, limit: number): Promise<WatchedFileRecord[]> {
    return ((await this.knex(WATCHED).where('next_check_at_ms', '<=', now).orderBy('next_check_at_ms').limit(limit)) as Row[]).map(fromRow);
  }

  /** Records a check and schedules the next (a file unwatched meanwhile stays unwatched). */
  async recordCheck(storageIndex: string, outcome: CheckOutcome, now: number, nextAt: number): Promise<void> {
    await this.knex(WATCHED)
      .where({ storage_index: storageIndex })
      .update({
        last_checked_at_ms: now,
        next_check_at_ms: nextAt,
        good_shares: outcome.goodShares,
        happiness: outcome.happiness,
        healthy: outcome.healthy,
        shares_repaired: this.knex.raw('shares_repaired + ?', [outcome.repaired]),
        lease_expires_at_ms: outcome.leaseExpiresAtMs,
        last_problem: outcome.problem.slice(0, 2000),
      });
  }

  /** Counts for the metrics: watched files, and those whose last check found them below `happy`. */
  async counts(happy: number): Promise<{ watched: number; belowHappy: number }> {
    const rows = await this.list();
    const below = (r: WatchedFileRecord) => r.lastCheckedAtMs > 0 && Math.min(r.goodShares, r.happiness) < Math.min(happy, r.n);
    return { watched: rows.length, belowHappy: rows.filter(below).length };
  }
}
