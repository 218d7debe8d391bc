/**
 * One-time federation invites (docs/clearinghouse.md "Invites"), table
 * ch_grid_invites: only the secret's hash is stored, with the name, area code
 * and price the grid will be admitted with. Redeeming admits the grid through
 * GridStore.admitWithin, so the invite is marked used in the same transaction
 * as the admission and only if it commits.
 */
import type { Knex } from 'knex';
import { bytesEqual, toHex } from '../../libs/crypto/index.js';
import { assertBytes, PermissionError, PreconditionError } from '../../libs/errors/index.js';
import type { GridRow, GridStore } from './grid-store.js';

const INVITES = 'ch_grid_invites';

/** A federation invite as stored: the secret itself never is. */
export interface GridInviteInput {
  secretHash: Uint8Array;
  name: string;
  /** '' = the area code the grid manager is configured with. */
  areaCode: string;
  priceUnitsPerGib: number;
  expiresAtMs: number;
}

type InviteRow = {
  secret_hash: string;
  name: string;
  area_code: string;
  price_units_per_gib: number | string;
  expires_at_ms: number | string;
  used_at_ms: number | string | null;
};

export class GridInviteStore {
  constructor(
    private readonly knex: Knex,
    private readonly grids: GridStore,
  ) {}

  /** Records a one-time invite (only the secret's hash). */
  async add(inv: GridInviteInput, now: number): Promise<void> {
    assertBytes('invite secret hash', inv.secretHash, 32);
    await this.knex(INVITES).insert({
      secret_hash: toHex(inv.secretHash),
      name: inv.name,
      area_code: inv.areaCode,
      price_units_per_gib: inv.priceUnitsPerGib,
      expires_at_ms: inv.expiresAtMs,
      created_at_ms: now,
    });
  }

  /**
   * Redeems an invite for the grid manager key `gridManagerPublicKey`,
   * configured with `areaCode`, and admits the grid like AdmitGrid would, in
   * one transaction: a refused admission (area code taken, key already
   * admitted) leaves the invite usable, and of two concurrent redemptions
   * exactly one wins (conditional update on used_at_ms IS NULL). The grid
   * that redeemed it may redeem it again and gets the same grid (redeemedBy).
   * @throws PermissionError for an unknown secret or an area code other than the invite's;
   *   PreconditionError for a used or expired invite; AlreadyExistsError as GridStore.admit.
   */
  async redeem(secretHash: Uint8Array, gridManagerPublicKey: Uint8Array, areaCode: string, firstAreaCode: number, now: number): Promise<GridRow> {
    assertBytes('grid manager public key', gridManagerPublicKey, 32);
    const hash = toHex(secretHash);
    const earlier = await this.redeemedBy(hash, gridManagerPublicKey, areaCode);
    if (earlier) return earlier;
    return this.grids.admitWithin(
      async (trx) => {
        const row: InviteRow | undefined = await trx(INVITES).where({ secret_hash: hash }).first();
        if (!row) throw new PermissionError('invite code is not known to this clearinghouse (forged, mistyped, or for another clearinghouse)');
        if (row.used_at_ms !== null) {
          throw new PreconditionError(
            `invite already used (redeemed at ${new Date(Number(row.used_at_ms)).toISOString()}); ask the clearinghouse operator for a new one`,
          );
        }
        const expiresAt = Number(row.expires_at_ms);
        if (now >= expiresAt) throw new PreconditionError(`invite expired at ${new Date(expiresAt).toISOString()}; ask the clearinghouse operator for a new one`);
        if (row.area_code !== '' && row.area_code !== areaCode) {
          throw new PermissionError(`this invite is for area code ${row.area_code}, not ${areaCode.slice(0, 16)} (the grid manager's configured area code)`);
        }
        const updated: number = await trx(INVITES)
          .where({ secret_hash: hash })
          .whereNull('used_at_ms')
          .update({ used_at_ms: now, used_by: toHex(gridManagerPublicKey) });
        if (updated !== 1) throw new PreconditionError('invite already used; ask the clearinghouse operator for a new one');
        return { gridManagerPublicKey, name: row.name, areaCode, priceUnitsPerGib: Number(row.price_units_per_gib) };
      },
      firstAreaCode,
      now,
    );
  }

  /**
   * The grid this invite already admitted, when the same grid key redeems it
   * again for the same area code: join-federation retried after its reply (or
   * its config write) was lost gets the same answer instead of "already used".
   * A used invite never becomes unused, so reading outside the transaction is safe.
   */
  private async redeemedBy(hash: string, gridManagerPublicKey: Uint8Array, areaCode: string): Promise<GridRow | undefined> {
    const row: { used_by: string | null } | undefined = await this.knex(INVITES).select('used_by').where({ secret_hash: hash }).first();
    if (!row || row.used_by !== toHex(gridManagerPublicKey)) return undefined;
    const grid = await this.grids.get(areaCode);
    return grid && bytesEqual(grid.gridManagerPublicKey, gridManagerPublicKey) ? grid : undefined;
  }
}
