/**
 * Storage servers' announcements: the address each approved server last
 * announced and when, and the servers fit for the signed directory
 * (GetDirectory). Kept on the server's gm_principals row.
 */
import type { Knex } from 'knex';
import { toHex, shortKey } from '../../libs/crypto/index.js';
import { PermissionError } from '../../libs/errors/index.js';
import { toRecord, PRINCIPALS, type PrincipalRecord, type PrincipalRow } from './principal-rows.js';

export class ServerAnnouncements {
  constructor(private readonly knex: Knex) {}

  /**
   * Records a storage server's announced address and the time it was seen.
   * @throws PermissionError when the key is not an approved, unrevoked storage server.
   */
  async announce(subject: Uint8Array, address: string, now: number): Promise<void> {
    const hex = toHex(subject);
    const n = await this.knex.transaction(async (trx): Promise<number> => {
      const updated: number = await trx(PRINCIPALS)
        .where({ subject: hex, role: 'storage-server', revoked: false })
        .update({ address, last_seen_ms: now, updated_at_ms: now });
      return updated;
    });
    if (n === 0) throw new PermissionError(`key ${shortKey(subject)} is not an approved storage server of this grid`);
  }

  /**
   * Storage servers fit for the directory: approved, unrevoked, certificate
   * unexpired at `now`, and announced an address at or after `seenSinceMs`.
   * Ordered by key so the signed directory is deterministic.
   */
  async directoryServers(now: number, seenSinceMs: number): Promise<PrincipalRecord[]> {
    const rows: PrincipalRow[] = await this.knex(PRINCIPALS)
      .where({ role: 'storage-server', revoked: false })
      .whereNotNull('address')
      .where('cert_not_after_ms', '>=', now)
      .where('last_seen_ms', '>=', seenSinceMs)
      .orderBy('subject');
    return rows.map(toRecord);
  }
}
