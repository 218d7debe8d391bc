/**
 * The served records (libs/usage signServedRecord) the contact point reports
 * to the clearinghouse through its outbox (libs/outbox, channel
 * 'clearinghouse'; docs/contact-point.md "Receipts and served records").
 *
 * A served record is queued in the SAME transaction as the change that
 * completes it. Its bytes are ALWAYS the count made here, never the
 * receipt's: the clearinghouse posts only when the two agree, so a gateway
 * cannot lower its bill with a small receipt (docs/billing.md "Matching"):
 *  - the receipt arrives for an ended transfer (receipt-intake.ts), or the
 *    transfer ends after its receipt arrived (served-store.ts `end`): the
 *    receipt is embedded;
 *  - a receipt arrives for a transfer with no count here (this process
 *    restarted mid-transfer, or never served it; receipt-intake.ts):
 *    reported with the count this store has (0), so the clearinghouse
 *    disputes it;
 *  - an ended transfer with bytes > 0 got no receipt within receiptWaitMs
 *    (unreceipted-sweep.ts): reported without receipt (the clearinghouse
 *    disputes it).
 *
 * The record's id is 'srv-<gateway>:<transfer id>', and so is its outbox
 * row's: two gateways choosing the same transfer id never touch each
 * other's record.
 */
import type { Knex } from 'knex';
import type { SignedDocument } from '../../libs/auth/index.js';
import { toHex, type KeyPair } from '../../libs/crypto/index.js';
import { InternalError } from '../../libs/errors/index.js';
import { CLEARINGHOUSE_CHANNEL, usageRecordPayload } from '../../libs/federation/index.js';
import type { Outbox } from '../../libs/outbox/index.js';
import { embedReceipt, SERVED_VERSION, servedRecordId, signServedRecord } from '../../libs/usage/index.js';
import { CONTACT_POINT_OUTBOX_TABLE } from './migrations.js';
import { TRANSFERS, type TransferRecord } from './transfer-rows.js';

export interface ServedRecordsOptions {
  /** This contact point's key: signs the served records. */
  key: KeyPair;
  /** This grid's area code (the exporter of every transfer). */
  areaCode: string;
  now(): number;
}

export class ServedRecords {
  private readonly keyHex: string;

  constructor(
    private readonly outbox: Outbox,
    private readonly opts: ServedRecordsOptions,
  ) {
    this.keyHex = toHex(opts.key.publicKey);
  }

  /**
   * Signs the served record of `row` — its bytes are `row.bytes`, this store's own count — and
   * adds it to the outbox in `trx`; marks the row reported.
   */
  async queue(trx: Knex.Transaction, row: TransferRecord, receipt: SignedDocument | null): Promise<void> {
    const bytes = row.bytes;
    const recordId = servedRecordId(row.gateway, row.transferId);
    const at = this.opts.now();
    const signed = signServedRecord(
      {
        version: SERVED_VERSION,
        recordId,
        transferId: row.transferId,
        storageIndex: row.storageIndex,
        bytes,
        exporter: this.opts.areaCode,
        importer: row.gatewayGrid,
        gateway: row.gateway,
        contactPoint: this.keyHex,
        startedAtMs: Math.min(row.startedAtMs, at),
        atMs: at,
        receipt: receipt ? embedReceipt(receipt) : null,
      },
      this.opts.key,
    );
    const payload = usageRecordPayload('served', signed);
    await this.outbox.add(trx, [{ id: recordId, channel: CLEARINGHOUSE_CHANNEL, payload }]);
    // The outbox ignores an id it already holds. Ids are (gateway, transfer) keys and a row is
    // reported once, so that cannot happen — but if it ever did, this transfer's bytes must not
    // vanish silently: fail (the transaction rolls back, the row stays unreported, the error is logged).
    const queued = (await trx(CONTACT_POINT_OUTBOX_TABLE).where({ id: recordId }).first('payload')) as { payload: string } | undefined;
    if (queued?.payload !== payload) throw new InternalError(`served record ${recordId}: the outbox already holds a different record with this id`);
    await trx(TRANSFERS).where({ gateway_key: row.gateway, transfer_id: row.transferId }).update({ reported: true, reported_bytes: bytes });
  }
}
