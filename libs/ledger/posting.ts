/**
 * Double-entry postings. Each long-distance transfer moves value from the
 * importing grid (whose gateway received the bytes) to the exporting grid
 * (whose contact point served them), at the exporter's price in effect at
 * transfer time. It becomes exactly two postings whose amounts sum to zero:
 * the exporter credited +cost, the importer debited −cost.
 */
import { assertAreaCode } from '../caps/index.js';
import { InvalidArgumentError, assertInt, assertString } from '../errors/index.js';
import { costOf } from './money.js';

/** One side of a transfer in the ledger. */
export interface Posting {
  transferId: string;
  /** The grid whose balance this posting moves. */
  account: string;
  /** The other grid of the transfer. */
  counterpart: string;
  /** The account's side: 'exporter' (served the bytes, credited) or 'importer' (debited). */
  role: 'exporter' | 'importer';
  /** Bytes of the transfer (the same on both postings). */
  bytes: number;
  /** Exporter's price, units per GiB. */
  priceUnitsPerGib: number;
  /** Signed amount in units: + credit (exporter), − debit (importer). */
  amountUnits: number;
  /** Transfer time, ms since the epoch. */
  atMs: number;
}

/** A metered transfer between two grids. */
export interface Transfer {
  transferId: string;
  /** Area code of the grid that served the bytes (contact point). */
  exporter: string;
  /** Area code of the grid that received them (gateway). */
  importer: string;
  bytes: number;
  priceUnitsPerGib: number;
  atMs: number;
}

/** Longest transfer id accepted (ids are opaque strings chosen by the reporter). */
export const MAX_TRANSFER_ID_LENGTH = 200;

/**
 * The two postings of a transfer: [exporter +cost, importer −cost].
 * @example postingsForTransfer({ transferId: 't1', exporter: '101', importer: '202', bytes: 2 ** 30, priceUnitsPerGib: 5, atMs })
 *   // → amounts [+5, −5]
 * @throws InvalidArgumentError for a malformed id, area code or integer, or
 *   when exporter and importer are the same grid.
 */
export function postingsForTransfer(t: Transfer): [Posting, Posting] {
  assertString('transferId', t.transferId);
  if (t.transferId.length > MAX_TRANSFER_ID_LENGTH) {
    throw new InvalidArgumentError(`transferId '${t.transferId.slice(0, 40)}…' is ${t.transferId.length} characters, at most ${MAX_TRANSFER_ID_LENGTH}`);
  }
  assertAreaCode('exporter', t.exporter);
  assertAreaCode('importer', t.importer);
  if (t.exporter === t.importer) {
    throw new InvalidArgumentError(`transfer '${t.transferId}': exporter and importer are both ${t.exporter}; a grid does not bill itself`);
  }
  assertInt('atMs', t.atMs);
  const cost = costOf(t.bytes, t.priceUnitsPerGib);
  const common = { transferId: t.transferId, bytes: t.bytes, priceUnitsPerGib: t.priceUnitsPerGib, atMs: t.atMs };
  return [
    { ...common, account: t.exporter, counterpart: t.importer, role: 'exporter', amountUnits: cost },
    // `0 - cost` rather than `-cost` so a free transfer posts 0, not -0.
    { ...common, account: t.importer, counterpart: t.exporter, role: 'importer', amountUnits: 0 - cost },
  ];
}
