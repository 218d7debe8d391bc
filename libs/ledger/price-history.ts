/**
 * Price history (docs/billing.md "Price"): a grid publishes a price when it
 * is admitted and again on every SetPrice; each takes effect at its
 * `effectiveFromMs`. A transfer is billed at the exporter's price IN EFFECT
 * at its price date — the latest published at or before it. This is the one
 * definition of that rule: the clearinghouse stores only load the rows
 * (GridStore.priceAt, price-book.ts) and ask here.
 */
import { InvalidArgumentError } from '../errors/index.js';

/** One published price of a grid. */
export interface PricePoint {
  /** When the price took effect, ms since the epoch. */
  effectiveFromMs: number;
  priceUnitsPerGib: number;
}

/**
 * Refuses a history that is not oldest first: equal `effectiveFromMs` are
 * allowed and then the later-published one comes last (the stores order by
 * effective time, then insertion sequence), so "latest" is well defined.
 */
function checkOrder(history: readonly PricePoint[]): void {
  for (let i = 1; i < history.length; i++) {
    if (history[i]!.effectiveFromMs < history[i - 1]!.effectiveFromMs) {
      throw new InvalidArgumentError(
        `price history is not oldest first: entry ${i} takes effect at ${history[i]!.effectiveFromMs}, before entry ${i - 1} at ${history[i - 1]!.effectiveFromMs}`,
      );
    }
  }
}

/**
 * The price in effect at `atMs`: the last entry with effectiveFromMs ≤ atMs
 * (a price takes effect AT its effectiveFromMs), or undefined when none was
 * published yet (before admission, or an empty history).
 * @example priceInEffect([{ effectiveFromMs: 10, priceUnitsPerGib: 3 }, { effectiveFromMs: 20, priceUnitsPerGib: 5 }], 20) === 5
 * @throws InvalidArgumentError when `history` is not oldest first.
 */
export function priceInEffect(history: readonly PricePoint[], atMs: number): number | undefined {
  checkOrder(history);
  let found: number | undefined;
  for (const p of history) {
    if (p.effectiveFromMs > atMs) break;
    found = p.priceUnitsPerGib;
  }
  return found;
}

/**
 * The price a dispute record carries: the one in effect at `atMs`, else (a
 * price date before admission) the first published, else 0. A dispute is
 * resolved at this price, so it is never undefined.
 * @throws InvalidArgumentError when `history` is not oldest first.
 */
export function priceForDispute(history: readonly PricePoint[], atMs: number): number {
  return priceInEffect(history, atMs) ?? history[0]?.priceUnitsPerGib ?? 0;
}
