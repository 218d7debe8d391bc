/**
 * A revocation list a service learnt from an authority (its grid manager's
 * ListRevocations, the clearinghouse's ListSanctions), kept in the service's
 * own database so a restart never re-admits what was revoked, with the
 * authority's cursor beside it so nothing is missed or re-read.
 *
 * Entries are (kind, value) pairs: 'key' (a revoked subject, hex) for
 * storage servers and gateways; 'gateway' and 'grid' for the contact point.
 * A batch from one poll and the new cursor are written in ONE transaction
 * and the in-memory copy (what the synchronous auth check reads) is changed
 * only after the commit: memory never runs ahead of the database, and a
 * crash mid-batch replays the batch from the old cursor.
 */
import type { Knex } from 'knex';
import { toHex } from '../crypto/index.js';
import type { GridManagerConnection } from './grid-manager-client.js';

/** One change from an authority: add (present) or remove an entry. */
export interface RevokedChange {
  kind: string;
  value: string;
  present: boolean;
}

/**
 * Creates the two tables; call from a service's migration.
 * @example await createRevokedSetTables(knex, 'gw') // gw_revoked, gw_revocation_cursor
 */
export async function createRevokedSetTables(knex: Knex, prefix: string): Promise<void> {
  await knex.schema.createTable(`${prefix}_revoked`, (t) => {
    t.string('kind', 16).notNullable();
    t.string('value', 64).notNullable();
    t.bigInteger('at_ms').notNullable();
    t.primary(['kind', 'value']);
  });
  // One row per authority: the last sequence number applied.
  await knex.schema.createTable(`${prefix}_revocation_cursor`, (t) => {
    t.string('source', 32).notNullable().primary();
    t.bigInteger('seq').notNullable();
  });
}

export class RevokedSet {
  private readonly entries = new Set<string>();
  private seq = 0;

  private constructor(
    private readonly knex: Knex,
    private readonly prefix: string,
    private readonly source: string,
  ) {}

  /** Loads the persisted entries and cursor (call before the service serves). */
  static async load(knex: Knex, prefix: string, source: string): Promise<RevokedSet> {
    const set = new RevokedSet(knex, prefix, source);
    const rows: { kind: string; value: string }[] = await knex(`${prefix}_revoked`).select('kind', 'value');
    for (const r of rows) set.entries.add(entryKey(r.kind, r.value));
    const cursor: { seq: number | string } | undefined = await knex(`${prefix}_revocation_cursor`).where({ source }).first();
    set.seq = Number(cursor?.seq ?? 0);
    return set;
  }

  /** The authority's sequence number up to which every change is applied. */
  get sinceSeq(): number {
    return this.seq;
  }

  has(kind: string, value: string): boolean {
    return this.entries.has(entryKey(kind, value));
  }

  /** Number of entries of `kind` (metrics, tests). */
  count(kind: string): number {
    let n = 0;
    for (const e of this.entries) if (e.startsWith(`${kind}/`)) n++;
    return n;
  }

  /**
   * Applies one poll's changes, in order, and moves the cursor to `latestSeq`
   * (never backwards), in one transaction; then updates memory.
   */
  async apply(changes: RevokedChange[], latestSeq: number, now: number): Promise<void> {
    const seq = Math.max(this.seq, latestSeq);
    if (changes.length === 0 && seq === this.seq) return;
    const revoked = `${this.prefix}_revoked`;
    await this.knex.transaction(async (trx) => {
      for (const c of changes) {
        if (c.present) await trx(revoked).insert({ kind: c.kind, value: c.value, at_ms: now }).onConflict(['kind', 'value']).ignore();
        else await trx(revoked).where({ kind: c.kind, value: c.value }).delete();
      }
      await trx(`${this.prefix}_revocation_cursor`).insert({ source: this.source, seq }).onConflict('source').merge(['seq']);
    });
    for (const c of changes) {
      if (c.present) this.entries.add(entryKey(c.kind, c.value));
      else this.entries.delete(entryKey(c.kind, c.value));
    }
    this.seq = seq;
  }
}

function entryKey(kind: string, value: string): string {
  return `${kind}/${value}`;
}

/** The kind of entry a grid manager's revocation adds (a revoked subject, hex). */
export const REVOKED_KEY = 'key';

/**
 * One ListRevocations poll at a grid manager, from the set's cursor, into
 * the set (persisted before it takes effect in memory).
 */
export async function pollGridRevocations(manager: Pick<GridManagerConnection, 'listRevocations'>, set: RevokedSet, now: number): Promise<void> {
  const res = await manager.listRevocations(set.sinceSeq);
  let latest = res.latestSeq;
  const changes: RevokedChange[] = [];
  for (const r of res.revocations) {
    if (r.subject.length === 32) changes.push({ kind: REVOKED_KEY, value: toHex(r.subject), present: true });
    latest = Math.max(latest, r.seq);
  }
  await set.apply(changes, latest, now);
}
