/**
 * Startup reconciliation of the share backend (disk or bucket) and the
 * database (docs/storage.md "Reconciliation"). Runs before the server
 * accepts calls:
 *
 * 1. everything under incoming/ is deleted (no upload survives a restart,
 *    and none of it was acknowledged);
 * 2. a share file without a database row is deleted (the process stopped
 *    between rename and commit, or GC between row and file: never
 *    acknowledged, or already collected);
 * 3. a database row whose file is missing or has the wrong size is deleted
 *    and logged as an error (acknowledged data was lost underneath us: the
 *    share must not be listed, so readers go to other servers).
 */
import type { Logger } from 'pino';
import type { MetadataStore } from './metadata-store.js';
import type { ShareBackend } from './share-backend.js';

export interface ReconcileResult {
  incomingRemoved: number;
  orphanFilesRemoved: number;
  rowsRemoved: number;
}

export async function reconcile(meta: MetadataStore, shares: ShareBackend, logger: Logger): Promise<ReconcileResult> {
  const incoming = await shares.clearIncoming();
  for (const path of incoming) logger.info({ path }, 'removed unfinished upload');

  const rows = new Map((await meta.allShares()).map((r) => [`${r.storageIndex}/${r.shareNumber}`, r]));
  const seen = new Set<string>();
  let orphanFilesRemoved = 0;
  let rowsRemoved = 0;
  for (const f of await shares.listShares()) {
    const key = `${f.storageIndex}/${f.shareNumber}`;
    const row = f.shareNumber >= 0 ? rows.get(key) : undefined;
    if (!row) {
      logger.warn({ location: f.location }, 'removing share with no database record (never acknowledged)');
      if (f.shareNumber >= 0) await shares.remove(f.storageIndex, f.shareNumber);
      else await shares.removeJunk(f.location);
      orphanFilesRemoved++;
      continue;
    }
    if (f.size !== row.size) {
      logger.error({ location: f.location, expected: row.size, actual: f.size }, 'SHARE DAMAGED: its size differs from the database; dropping the share');
      await meta.deleteShare(row.storageIndex, row.shareNumber);
      await shares.remove(row.storageIndex, row.shareNumber);
      seen.add(key);
      rowsRemoved++;
      continue;
    }
    seen.add(key);
  }
  for (const [key, row] of rows) {
    if (seen.has(key)) continue;
    logger.error({ storageIndex: row.storageIndex, shareNumber: row.shareNumber }, 'SHARE LOST: database records a share the backend does not hold; dropping the record');
    await meta.deleteShare(row.storageIndex, row.shareNumber);
    rowsRemoved++;
  }
  return { incomingRemoved: incoming.length, orphanFilesRemoved, rowsRemoved };
}
