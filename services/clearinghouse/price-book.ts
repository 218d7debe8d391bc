/**
 * Loads the exporters' price histories (ch_prices, written by AdmitGrid and
 * SetPrice) for the ledger's matching, inside the ledger's transaction
 * (SQLite has one connection, so GridStore.priceAt cannot be called from
 * inside it). Only rows are loaded here: which price applies is libs/ledger
 * priceInEffect / priceForDispute (docs/billing.md "Price").
 */
import type { Knex } from 'knex';
import type { PricePoint } from '../../libs/ledger/index.js';
import { selectIn } from './ledger-rows.js';

export class PriceBook {
  private constructor(private readonly byArea: Map<string, PricePoint[]>) {}

  /** Loads the price history of `areaCodes`. */
  static async load(trx: Knex.Transaction, areaCodes: Iterable<string>): Promise<PriceBook> {
    const codes = [...new Set(areaCodes)];
    const rows = await selectIn(trx, 'ch_prices', 'area_code', codes, ['area_code', 'price_units_per_gib', 'effective_from_ms', 'seq']);
    const byArea = new Map<string, (PricePoint & { seq: number })[]>();
    for (const r of rows) {
      const code = String(r.area_code);
      let list = byArea.get(code);
      if (!list) byArea.set(code, (list = []));
      list.push({ priceUnitsPerGib: Number(r.price_units_per_gib), effectiveFromMs: Number(r.effective_from_ms), seq: Number(r.seq) });
    }
    // Oldest first, equal times in publication order: the order priceInEffect requires.
    for (const list of byArea.values()) list.sort((a, b) => a.effectiveFromMs - b.effectiveFromMs || a.seq - b.seq);
    return new PriceBook(byArea);
  }

  /** `areaCode`'s price history, oldest first (empty when it published none). */
  history(areaCode: string): readonly PricePoint[] {
    return this.byArea.get(areaCode) ?? [];
  }
}
