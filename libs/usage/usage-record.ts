/**
 * The usage records reported to the clearinghouse (proto UsageRecord):
 * kind 'receipt' (the importing gateway's receipt, i.e. bytes received and
 * verified) or kind 'served' (the exporting contact point's record carrying
 * that receipt). One entry point opens either.
 */
import type { SignedDocument } from '../auth/index.js';
import { LayoutInvalidError } from '../errors/index.js';
import { openReceipt, type ReceiptBody } from './receipt.js';
import { openServedRecord, type OpenedServedRecord, type OpenServedOptions } from './served-record.js';

export type UsageRecordKind = 'receipt' | 'served';
export const USAGE_RECORD_KINDS: readonly UsageRecordKind[] = ['receipt', 'served'];

/** A record as it travels (proto intergrid.clearinghouse.UsageRecord). */
export interface UsageRecordMessage extends SignedDocument {
  kind: string;
}

/** A verified record. */
export type OpenedUsageRecord = { kind: 'receipt'; recordId: string; receipt: ReceiptBody } | ({ kind: 'served'; recordId: string } & OpenedServedRecord);

/**
 * Opens a usage record of either kind (signatures verified with the keys the
 * documents name; the caller checks those keys are allowed). `opts` is
 * passed to openServedRecord (e.g. a cache of verified receipts).
 * @throws LayoutInvalidError for an unknown kind or a malformed body;
 *   IntegrityError when a signature does not verify.
 */
export function openUsageRecord(record: UsageRecordMessage, opts: OpenServedOptions = {}): OpenedUsageRecord {
  if (record.kind === 'receipt') {
    const receipt = openReceipt(record);
    return { kind: 'receipt', recordId: receipt.recordId, receipt };
  }
  if (record.kind === 'served') {
    const opened = openServedRecord(record, opts);
    return { kind: 'served', recordId: opened.served.recordId, ...opened };
  }
  throw new LayoutInvalidError(`usage record kind '${String(record.kind).slice(0, 20)}' is not one of ${USAGE_RECORD_KINDS.join(', ')}`);
}
