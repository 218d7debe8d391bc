/**
 * Money: integer units only. A grid publishes a price in units per GiB
 * (2^30 bytes) of forwarded ciphertext; a transfer of `bytes` costs
 *
 *   cost = ceil(bytes × priceUnitsPerGib / 2^30)
 *
 * computed with BigInt, so it is exact for any safe-integer inputs (the
 * product can reach ~2^106, far past a double's 53-bit mantissa). Rounding
 * up per transfer means any non-empty paid transfer costs at least 1 unit,
 * and the rule needs no float anywhere, so every party computes the same
 * integer.
 */
import { InvalidArgumentError, assertInt } from '../errors/index.js';

/** Bytes in one GiB, the unit prices are quoted in. */
export const BYTES_PER_GIB = 2 ** 30;

const GIB = BigInt(BYTES_PER_GIB);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Cost in units of `bytes` at `priceUnitsPerGib`: ceil(bytes × price / 2^30).
 * @example costOf(2 ** 30, 5) === 5; costOf(1, 5) === 1; costOf(0, 5) === 0
 * @throws InvalidArgumentError when an argument is not a non-negative safe
 *   integer, or the cost itself would not be a safe integer.
 */
export function costOf(bytes: number, priceUnitsPerGib: number): number {
  assertInt('bytes', bytes);
  assertInt('priceUnitsPerGib', priceUnitsPerGib);
  const product = BigInt(bytes) * BigInt(priceUnitsPerGib);
  const cost = (product + GIB - 1n) / GIB; // BigInt division truncates; adding GIB-1 first makes it a ceiling
  if (cost > MAX_SAFE) {
    throw new InvalidArgumentError(`cost of ${bytes} bytes at ${priceUnitsPerGib} units/GiB is ${cost}, above the safe-integer limit`);
  }
  return Number(cost);
}

/**
 * Adds integer amounts exactly (BigInt), refusing a total that is not a safe
 * integer so a sum is never silently rounded.
 * @throws InvalidArgumentError when an amount or the total is not a safe integer.
 */
export function sumUnits(name: string, amounts: Iterable<number>): number {
  let total = 0n;
  for (const a of amounts) {
    assertInt(`${name} amount`, a, -Number.MAX_SAFE_INTEGER);
    total += BigInt(a);
  }
  if (total > MAX_SAFE || total < -MAX_SAFE) {
    throw new InvalidArgumentError(`${name} total ${total} is outside the safe-integer range`);
  }
  return Number(total);
}
