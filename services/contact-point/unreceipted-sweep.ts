/**
 * The sweep of transfers whose receipt never came: an ended transfer with
 * bytes > 0, counted by this process (transfer-rows.ts `COUNTED`), not yet
 * reported and with no receipt by receiptWaitMs after its end is reported
 * without receipt (served-records.ts), so the clearinghouse disputes it
 * rather than the bytes going unbilled. server.ts runs it periodically.
 */
import type { Knex } from 'knex';
import type { ServedRecords } from './served-records.js';
import { COUNTED, fromRow, TRANSFERS, type TransferRow, type TransferState } from './transfer-rows.js';

/**
 * Reports, without receipt, ended transfers with bytes > 0 whose receipt
 * did not come by `before` (their end + the wait), each in its own transaction.
 * @returns how many were queued.
 */
export async function reportUnreceipted(knex: Knex, served: ServedRecords, before: number): Promise<number> {
  const rows: TransferRow[] = await knex(TRANSFERS)
    .where({ reported: false })
    .whereIn('state', COUNTED as TransferState[])
    .whereNull('receipt_body')
    .andWhere('bytes', '>', 0)
    .andWhere('ended_at_ms', '<=', before)
    .limit(1000);
  let n = 0;
  for (const r of rows) {
    const done = await knex.transaction(async (trx) => {
      const where = { gateway_key: r.gateway_key, transfer_id: r.transfer_id };
      const fresh: TransferRow | undefined = await trx(TRANSFERS).where(where).first();
      if (!fresh || fresh.reported || fresh.receipt_body !== null || !COUNTED.includes(fresh.state)) return false;
      await served.queue(trx, fromRow(fresh), null);
      return true;
    });
    if (done) n++;
  }
  return n;
}
