/**
 * SubmitReceipt's store side: a gateway's signed receipt for a transfer it
 * fetched here, already verified and checked against the caller by the
 * handler (handlers.ts `checkReceipt`). A transfer has one receipt: the
 * same one again is a 'duplicate', another is ALREADY_EXISTS.
 *
 * The receipt completes the transfer's served record (served-records.ts),
 * queued in the same transaction:
 *  - for an ended transfer, the record embeds the receipt, with this store's
 *    count; for one still open, the end of FetchSegments reports it
 *    (served-store.ts `end`);
 *  - for a transfer with no count here (this process restarted
 *    mid-transfer, or never served it), the row becomes 'receipt-only' and
 *    is reported with the count this store has (0), never the receipt's,
 *    so the clearinghouse disputes it;
 *  - for one already reported (swept without receipt), it is kept, not
 *    reported again.
 */
import type { Knex } from 'knex';
import type { SignedDocument } from '../../libs/auth/index.js';
import { AlreadyExistsError, InvalidArgumentError } from '../../libs/errors/index.js';
import type { ReceiptBody } from '../../libs/usage/index.js';
import type { ServedRecords } from './served-records.js';
import { COUNTED, fromRow, isUniqueViolation, receiptColumns, TRANSFERS, type TransferRow } from './transfer-rows.js';

/** What SubmitReceipt did. */
export type ReceiptOutcome = 'stored' | 'reported' | 'duplicate';

export class ReceiptIntake {
  constructor(
    private readonly knex: Knex,
    private readonly served: ServedRecords,
    private readonly now: () => number,
    /** True while FetchSegments still runs for the transfer (its end reports it). */
    private readonly serving: (gateway: string, transferId: string) => boolean,
  ) {}

  /**
   * Stores a gateway's receipt and, when the transfer has ended, queues the
   * served record in the same transaction.
   * @throws AlreadyExistsError when another receipt for this transfer is stored;
   *   InvalidArgumentError when the receipt's storage index differs from the transfer served.
   */
  async submit(receipt: ReceiptBody, signed: SignedDocument): Promise<ReceiptOutcome> {
    const where = { gateway_key: receipt.gateway, transfer_id: receipt.transferId };
    const { receipt_body: body, receipt_signature: signature } = receiptColumns(signed);
    const attempt = (): Promise<ReceiptOutcome> => this.knex.transaction(async (trx): Promise<ReceiptOutcome> => {
      const row: TransferRow | undefined = await trx(TRANSFERS).where(where).first();
      if (row && row.receipt_body !== null) {
        if (row.receipt_body === body && row.receipt_signature === signature) return 'duplicate';
        throw new AlreadyExistsError(
          `transfer '${receipt.transferId}' of gateway ${receipt.gateway.slice(0, 16)}… already has a different receipt (${Number(row.receipt_bytes)} bytes); a transfer has one receipt`,
        );
      }
      if (row && row.storage_index !== receipt.storageIndex) {
        throw new InvalidArgumentError(
          `receipt for transfer '${receipt.transferId}' names storage index ${receipt.storageIndex}, but this contact point served ${row.storage_index} in that transfer`,
        );
      }
      const stored = { receipt_body: body, receipt_signature: signature, receipt_bytes: receipt.bytes };
      if (!row || (!COUNTED.includes(row.state) && row.state !== 'open')) {
        // No count of our own (restarted mid-transfer, or never saw it): reported with the
        // count this store has (0 for a transfer in progress at the restart), never the
        // receipt's, so the clearinghouse disputes it rather than take the gateway's word.
        const at = this.now();
        const made = {
          gateway_key: receipt.gateway,
          transfer_id: receipt.transferId,
          gateway_area: receipt.importer,
          storage_index: receipt.storageIndex,
          bytes: row ? Number(row.bytes) : 0,
          segments: row ? Number(row.segments) : 0,
          state: 'receipt-only' as const,
          started_at_ms: row ? Number(row.started_at_ms) : Math.min(receipt.atMs, at),
          ended_at_ms: at,
          ...stored,
        };
        if (row) await trx(TRANSFERS).where(where).update(made);
        else await trx(TRANSFERS).insert(made);
        if (row?.reported) return 'stored';
        await this.served.queue(trx, fromRow({ ...made, reported: false, reported_bytes: null }), signed);
        return 'reported';
      }
      await trx(TRANSFERS).where(where).update(stored);
      // Open: the end of FetchSegments reports it. Already reported (swept without receipt): kept, not re-reported.
      if (row.state === 'open' || row.reported || this.serving(receipt.gateway, receipt.transferId)) return 'stored';
      await this.served.queue(trx, fromRow(row), signed);
      return 'reported';
    });
    // The same receipt on calls at once for a transfer without a row: on
    // PostgreSQL every transaction reads "absent" and all but one insert fail
    // on the key. Once more reads the row the winner made (-> 'duplicate').
    return attempt().catch((err: unknown) => {
      if (!isUniqueViolation(err)) throw err;
      return attempt();
    });
  }
}
