/**
 * The clearinghouse's records, in knex (SQLite or PostgreSQL): admitted
 * grids, their price history and their registered contact points.
 *
 * Every write runs in one transaction and resolves only after the commit.
 * Each admitted grid's manager key and suspension are also held in memory:
 * the auth check asks for them (issuers trusted for the contact-point role,
 * the policy's membership rules in caller-rules.ts) on every call and must
 * answer synchronously. The map is loaded at open and updated only after a
 * write commits.
 */
import type { Knex } from 'knex';
import { fromHex, shortKey, toHex } from '../../libs/crypto/index.js';
import { AlreadyExistsError, assertBytes, NotFoundError, PreconditionError } from '../../libs/errors/index.js';
import { lockForAppend } from '../../libs/db/index.js';
import type { GridInfo } from '../../libs/federation/index.js';
import { priceInEffect, type PricePoint } from '../../libs/ledger/index.js';
import { appendSanction } from './sanction-store.js';

/** One admitted grid: what ListGrids reports of it (libs/federation GridInfo) without the live contact-point count. */
export interface GridRow extends Omit<GridInfo, 'contactPoints'> {
  updatedAtMs: number;
}

/** What the auth check knows of an admitted grid (synchronously, from memory). */
export interface GridMembership {
  areaCode: string;
  gridManagerPublicKey: Uint8Array;
  suspended: boolean;
}

/** One published price (a libs/ledger PricePoint of `areaCode`). */
export interface PriceRecord extends PricePoint {
  areaCode: string;
}

/** One registered contact point. */
export interface ContactPointRecord {
  areaCode: string;
  publicKey: Uint8Array;
  address: string;
  registeredAtMs: number;
  lastSeenMs: number;
}

export interface AdmitInput {
  gridManagerPublicKey: Uint8Array;
  name: string;
  /** undefined = the next free code from `firstAreaCode` upwards. */
  areaCode?: string;
  priceUnitsPerGib: number;
}

type GridDbRow = {
  area_code: string;
  name: string;
  gm_key: string;
  suspended: boolean | number;
  price_units_per_gib: number | string;
  admitted_at_ms: number | string;
  updated_at_ms: number | string;
};

type ContactDbRow = {
  area_code: string;
  public_key: string;
  address: string;
  registered_at_ms: number | string;
  last_seen_ms: number | string;
};

const GRIDS = 'ch_grids';
const PRICES = 'ch_prices';
const CONTACTS = 'ch_contact_points';
const MAX_AREA_CODE = 99_999_999;

function toGrid(r: GridDbRow): GridRow {
  return {
    areaCode: r.area_code,
    name: r.name,
    gridManagerPublicKey: fromHex(r.gm_key, 'stored gm_key', 32),
    suspended: Boolean(r.suspended),
    priceUnitsPerGib: Number(r.price_units_per_gib),
    admittedAtMs: Number(r.admitted_at_ms),
    updatedAtMs: Number(r.updated_at_ms),
  };
}

function toContact(r: ContactDbRow): ContactPointRecord {
  return {
    areaCode: r.area_code,
    publicKey: fromHex(r.public_key, 'stored contact point key', 32),
    address: r.address,
    registeredAtMs: Number(r.registered_at_ms),
    lastSeenMs: Number(r.last_seen_ms),
  };
}

export class GridStore {
  /** area code → grid manager key (hex) and suspension of every admitted grid. */
  private readonly members = new Map<string, { gmKey: string; suspended: boolean }>();

  private constructor(private readonly knex: Knex) {}

  /** Opens the store over a migrated database and loads the active grid keys. */
  static async open(knex: Knex): Promise<GridStore> {
    const store = new GridStore(knex);
    await store.reloadActive();
    return store;
  }

  private async reloadActive(): Promise<void> {
    const rows: GridDbRow[] = await this.knex(GRIDS).select('*');
    this.members.clear();
    for (const r of rows) this.members.set(r.area_code, { gmKey: r.gm_key, suspended: Boolean(r.suspended) });
  }

  /** Grid manager keys of admitted, unsuspended grids (synchronous: used by the auth check). */
  activeGridManagerKeys(): Uint8Array[] {
    return [...this.members.values()].filter((m) => !m.suspended).map((m) => fromHex(m.gmKey, 'grid manager key', 32));
  }

  /** The admitted grid with this area code, or undefined (synchronous: used by the auth policy, caller-rules.ts). */
  membership(areaCode: string): GridMembership | undefined {
    const m = this.members.get(areaCode);
    return m ? { areaCode, gridManagerPublicKey: fromHex(m.gmKey, 'grid manager key', 32), suspended: m.suspended } : undefined;
  }

  async get(areaCode: string): Promise<GridRow | undefined> {
    const row: GridDbRow | undefined = await this.knex(GRIDS).where({ area_code: areaCode }).first();
    return row ? toGrid(row) : undefined;
  }

  /** Like get, but @throws NotFoundError naming the area code. */
  async require(areaCode: string): Promise<GridRow> {
    const g = await this.get(areaCode);
    if (!g) throw new NotFoundError(`area code ${areaCode} is not admitted`);
    return g;
  }

  /** Every grid, by area code. */
  async list(): Promise<GridRow[]> {
    const rows: GridDbRow[] = await this.knex(GRIDS).select('*').orderBy('area_code');
    return rows.map(toGrid);
  }

  /**
   * Admits a grid under the requested or the next free area code and
   * records its first price.
   * @throws AlreadyExistsError when the area code or the grid manager key is already admitted.
   * @throws PreconditionError when no area code is left above `firstAreaCode`.
   */
  async admit(input: AdmitInput, firstAreaCode: number, now: number): Promise<GridRow> {
    assertBytes('grid manager public key', input.gridManagerPublicKey, 32);
    // Two admissions racing (PostgreSQL, READ COMMITTED) can both pass the
    // checks in admitIn; the unique constraints stop the second. An assigned
    // code is then picked again; anything else is reported as taken.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admitOnce(() => Promise.resolve(input), firstAreaCode, now);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        if (input.areaCode === undefined && attempt < 3) continue;
        throw admittedConcurrently(input, err);
      }
    }
  }

  /**
   * Admits the grid `prepare` returns, exactly as admit() does, in the same
   * transaction as `prepare` (e.g. marking an invite used): if the admission
   * is refused, what `prepare` wrote is rolled back with it. Not retried.
   * @throws whatever `prepare` throws; AlreadyExistsError / PreconditionError as admit().
   */
  async admitWithin(prepare: (trx: Knex.Transaction) => Promise<AdmitInput>, firstAreaCode: number, now: number): Promise<GridRow> {
    let input: AdmitInput | undefined;
    try {
      return await this.admitOnce(
        async (trx) => {
          input = await prepare(trx);
          return input;
        },
        firstAreaCode,
        now,
      );
    } catch (err) {
      if (!isUniqueViolation(err) || !input) throw err;
      throw admittedConcurrently(input, err);
    }
  }

  private async admitOnce(prepare: (trx: Knex.Transaction) => Promise<AdmitInput>, firstAreaCode: number, now: number): Promise<GridRow> {
    const row = await this.knex.transaction(async (trx) => {
      // Admissions one at a time on PostgreSQL too: the next free code is read from the table.
      await lockForAppend(trx, GRIDS);
      const input = await prepare(trx);
      assertBytes('grid manager public key', input.gridManagerPublicKey, 32);
      const gmHex = toHex(input.gridManagerPublicKey);
      const sameKey: GridDbRow | undefined = await trx(GRIDS).where({ gm_key: gmHex }).first();
      if (sameKey) {
        throw new AlreadyExistsError(`grid manager key ${shortKey(input.gridManagerPublicKey)} is already admitted as area code ${sameKey.area_code}`);
      }
      let areaCode = input.areaCode;
      if (areaCode !== undefined) {
        const taken: GridDbRow | undefined = await trx(GRIDS).where({ area_code: areaCode }).first();
        if (taken) throw new AlreadyExistsError(`area code ${areaCode} is already admitted (grid '${taken.name}')`);
      } else {
        areaCode = await nextFreeAreaCode(trx, firstAreaCode);
      }
      const dbRow: GridDbRow = {
        area_code: areaCode,
        name: input.name,
        gm_key: gmHex,
        suspended: false,
        price_units_per_gib: input.priceUnitsPerGib,
        admitted_at_ms: now,
        updated_at_ms: now,
      };
      await trx(GRIDS).insert(dbRow);
      await trx(PRICES).insert({ area_code: areaCode, price_units_per_gib: input.priceUnitsPerGib, effective_from_ms: now });
      return dbRow;
    });
    this.members.set(row.area_code, { gmKey: row.gm_key, suspended: false });
    return toGrid(row);
  }

  /**
   * Suspends or reinstates a grid; a change (not a repeat) is entered in the
   * sanctions log in the same transaction, for contact points to learn.
   * @throws NotFoundError for an unknown area code.
   */
  async setSuspended(areaCode: string, suspended: boolean, now: number): Promise<GridRow> {
    await this.knex.transaction(async (trx) => {
      const row: GridDbRow | undefined = await trx(GRIDS).where({ area_code: areaCode }).first();
      if (!row) throw new NotFoundError(`area code ${areaCode} is not admitted`);
      if (Boolean(row.suspended) === suspended) return;
      await trx(GRIDS).where({ area_code: areaCode }).update({ suspended, updated_at_ms: now });
      await appendSanction(trx, { kind: suspended ? 'suspend' : 'reinstate', areaCode, atMs: now });
    });
    const g = await this.require(areaCode);
    this.members.set(areaCode, { gmKey: toHex(g.gridManagerPublicKey), suspended: g.suspended });
    return g;
  }

  /**
   * Publishes a new price, effective from `now`, and keeps the old ones.
   * @throws NotFoundError for an unknown area code.
   */
  async setPrice(areaCode: string, priceUnitsPerGib: number, now: number): Promise<GridRow> {
    await this.knex.transaction(async (trx) => {
      const updated = await trx(GRIDS).where({ area_code: areaCode }).update({ price_units_per_gib: priceUnitsPerGib, updated_at_ms: now });
      if (updated === 0) throw new NotFoundError(`area code ${areaCode} is not admitted`);
      await trx(PRICES).insert({ area_code: areaCode, price_units_per_gib: priceUnitsPerGib, effective_from_ms: now });
    });
    return this.require(areaCode);
  }

  /** Every price `areaCode` published, oldest first. */
  async priceHistory(areaCode: string): Promise<PriceRecord[]> {
    const rows: { area_code: string; price_units_per_gib: number | string; effective_from_ms: number | string }[] = await this.knex(PRICES)
      .where({ area_code: areaCode })
      .orderBy([{ column: 'effective_from_ms' }, { column: 'seq' }]);
    return rows.map((r) => ({ areaCode: r.area_code, priceUnitsPerGib: Number(r.price_units_per_gib), effectiveFromMs: Number(r.effective_from_ms) }));
  }

  /**
   * The price in effect at `atMs` (libs/ledger priceInEffect over priceHistory).
   * @throws NotFoundError when the grid is unknown or was admitted after `atMs`.
   */
  async priceAt(areaCode: string, atMs: number): Promise<number> {
    const price = priceInEffect(await this.priceHistory(areaCode), atMs);
    if (price === undefined) throw new NotFoundError(`area code ${areaCode} had no price at ${new Date(atMs).toISOString()}`);
    return price;
  }

  /**
   * Registers or refreshes a contact point of `areaCode`.
   * @throws PreconditionError when the grid is unknown or suspended (checked in the same transaction).
   */
  async registerContactPoint(areaCode: string, publicKey: Uint8Array, address: string, now: number): Promise<void> {
    assertBytes('contact point key', publicKey, 32);
    const key = toHex(publicKey);
    await this.knex.transaction(async (trx) => {
      const grid: GridDbRow | undefined = await trx(GRIDS).where({ area_code: areaCode }).first();
      if (!grid || grid.suspended) throw new PreconditionError(`area code ${areaCode} is ${grid ? 'suspended' : 'not admitted'}`);
      await trx(CONTACTS)
        .insert({ area_code: areaCode, public_key: key, address, registered_at_ms: now, last_seen_ms: now })
        .onConflict(['area_code', 'public_key'])
        .merge(['address', 'last_seen_ms']);
    });
  }

  /** Removes a contact point; true when it was registered. */
  async deregisterContactPoint(areaCode: string, publicKey: Uint8Array): Promise<boolean> {
    const n = await this.knex(CONTACTS).where({ area_code: areaCode, public_key: toHex(publicKey) }).delete();
    return n > 0;
  }

  /** Contact points of `areaCode` seen at or after `sinceMs`, most recently seen first. */
  async freshContactPoints(areaCode: string, sinceMs: number): Promise<ContactPointRecord[]> {
    const rows: ContactDbRow[] = await this.knex(CONTACTS)
      .where({ area_code: areaCode })
      .andWhere('last_seen_ms', '>=', sinceMs)
      .orderBy([{ column: 'last_seen_ms', order: 'desc' }, { column: 'public_key' }]);
    return rows.map(toContact);
  }

  /** Number of fresh contact points per area code (for ListGrids). */
  async freshContactPointCounts(sinceMs: number): Promise<Map<string, number>> {
    const rows: { area_code: string; n: number | string }[] = await this.knex(CONTACTS)
      .where('last_seen_ms', '>=', sinceMs)
      .groupBy('area_code')
      .select('area_code')
      .count({ n: '*' });
    return new Map(rows.map((r) => [r.area_code, Number(r.n)]));
  }
}

/** The smallest unused numeric area code at or above `first` (written without leading zeros). */
async function nextFreeAreaCode(trx: Knex.Transaction, first: number): Promise<string> {
  const rows: { area_code: string }[] = await trx(GRIDS).select('area_code');
  const taken = new Set(rows.map((r) => r.area_code));
  for (let n = first; n <= MAX_AREA_CODE; n++) {
    const code = String(n);
    if (!taken.has(code)) return code;
  }
  throw new PreconditionError(`no free area code left at or above ${first}`);
}

function admittedConcurrently(input: AdmitInput, cause: unknown): AlreadyExistsError {
  return new AlreadyExistsError(
    `area code ${input.areaCode ?? '(assigned)'} or grid manager key ${shortKey(input.gridManagerPublicKey)} was admitted concurrently`,
    { cause },
  );
}

/** True for a unique-constraint violation from SQLite or PostgreSQL. */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  return e.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && /UNIQUE|PRIMARY KEY/.test(e.message);
}
