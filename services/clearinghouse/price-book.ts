/**
 * The price rule of billing (docs/billing.md "Price"): a transfer is billed
 * at the exporter's price in effect at the receipt's `priceAsOfMs` (the
 * issuedAtMs of the signed resolution the gateway used), from the
 * clearinghouse's own price history (ch_prices, written by AdmitGrid and
 * SetPrice). Loaded inside the ledger's transaction (SQLite has one
 * connection, so GridStore.priceAt cannot be called from inside it).
 */
import type { Knex } from 'knex';
import { selectIn } from './ledger-rows.js';

interface PriceEntry {
  price: number;
  fromMs: number;
  seq: number;
}

export class PriceBook {
  private constructor(private readonly byArea: Map<string, PriceEntry[]>) {}

  /** Loads the price history of `areaCodes`. */
  static async load(trx: Knex.Transaction, areaCodes: Iterable<string>): Promise<PriceBook> {
    const codes = [...new Set(areaCodes)];
    const rows = await selectIn(trx, 'ch_prices', 'area_code', codes, ['area_code', 'price_units_per_gib', 'effective_from_ms', 'seq']);
    const byArea = new Map<string, PriceEntry[]>();
    for (const r of rows) {
      const code = String(r.area_code);
      let list = byArea.get(code);
      if (!list) byArea.set(code, (list = []));
      list.push({ price: Number(r.price_units_per_gib), fromMs: Number(r.effective_from_ms), seq: Number(r.seq) });
    }
    for (const list of byArea.values()) list.sort((a, b) => a.fromMs - b.fromMs || a.seq - b.seq);
    return new PriceBook(byArea);
  }

  /** The price `areaCode` had in effect at `atMs` (latest published at or before it), or undefined when none. */
  at(areaCode: string, atMs: number): number | undefined {
    const list = this.byArea.get(areaCode) ?? [];
    let found: number | undefined;
    for (const e of list) {
      if (e.fromMs > atMs) break;
      found = e.price;
    }
    return found;
  }

  /** The price for a dispute record when none was in effect (as-of before admission): the first published, else 0. */
  atOrFirst(areaCode: string, atMs: number): number {
    return this.at(areaCode, atMs) ?? this.byArea.get(areaCode)?.[0]?.price ?? 0;
  }
}
