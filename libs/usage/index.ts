/**
 * libs/usage: the signed documents of metering (docs/billing.md) — the
 * gateway's receipt for verified bytes and the contact point's served
 * record. Pure: no database or network.
 */
export { transferKey } from './document.js';
export { RECEIPT_TAG, RECEIPT_VERSION, RECEIPT_RECORD_PREFIX, MAX_RECEIPT_RANGES, receiptRecordId, signReceipt, openReceipt } from './receipt.js';
export type { ReceiptBody } from './receipt.js';
export { SERVED_TAG, SERVED_VERSION, SERVED_RECORD_PREFIX, servedRecordId, embedReceipt, embeddedReceipt, signServedRecord, openServedRecord } from './served-record.js';
export type { ServedRecordBody, OpenedServedRecord, OpenServedOptions } from './served-record.js';
export { openUsageRecord, USAGE_RECORD_KINDS } from './usage-record.js';
export type { UsageRecordKind, UsageRecordMessage, OpenedUsageRecord } from './usage-record.js';
