/**
 * Receipts: the importing grid's gateway signs, for one transfer from one
 * contact point, the ciphertext bytes it VERIFIED (and forwarded to its
 * client). Nothing unverified is ever in a receipt: the gateway builds it
 * from the segments libs/format's SegmentStreamChecker accepted.
 *
 * The receipt is also the gateway's usage record ("bytes received", kind
 * 'receipt') at the clearinghouse, and the contact point keeps a copy and
 * reports it with its own 'served' record (served-record.ts).
 *
 * Body: canonical JSON (libs/auth signJson) under RECEIPT_TAG, signed by the
 * gateway key named in the body (docs/billing.md "Receipt"):
 *
 *   { "atMs", "bytes", "contactPoint": hex, "exporter": "101", "gateway": hex,
 *     "importer": "102", "priceAsOfMs", "priceUnitsPerGib",
 *     "ranges": [{ "length", "offset" }], "recordId": "rcpt-<gateway>:<transferId>",
 *     "storageIndex": hex, "transferId", "version": 2 }
 *
 * Version 2 (tag v2): the record id names the gateway (transferKey), so two
 * gateways choosing the same transfer id never share a record; a receipt
 * covers at least one byte (a 0-byte receipt has no use but to zero a bill).
 * Version 1 documents are refused.
 */
import { z } from 'zod';
import { signJson, type SignedDocument } from '../auth/index.js';
import { toHex, type KeyPair } from '../crypto/index.js';
import { InvalidArgumentError, LayoutInvalidError } from '../errors/index.js';
import { areaCodeSchema as areaCode } from '../caps/index.js';
import { hexKey, openSelfSigned, parseShape, safeUint, transferId, transferKey } from './document.js';

export const RECEIPT_TAG = 'intergrid:receipt:v2';
export const RECEIPT_VERSION = 2;
export const RECEIPT_RECORD_PREFIX = 'rcpt-';
/** Most byte ranges in one receipt (a transfer is one contiguous run of segments). */
export const MAX_RECEIPT_RANGES = 64;

const range = z.object({ offset: safeUint, length: safeUint }).strict();

const receiptSchema = z
  .object({
    version: z.literal(RECEIPT_VERSION),
    recordId: z.string().min(1).max(220),
    transferId,
    storageIndex: z.string().regex(/^[0-9a-f]{32}$/, 'expected 16 bytes of hex'),
    ranges: z.array(range).min(1, 'a receipt covers at least one byte range').max(MAX_RECEIPT_RANGES),
    bytes: safeUint,
    priceUnitsPerGib: safeUint,
    priceAsOfMs: safeUint,
    exporter: areaCode,
    importer: areaCode,
    gateway: hexKey,
    contactPoint: hexKey,
    atMs: safeUint,
  })
  .strict();

/** A receipt's signed fields (keys and storage index as lowercase hex). */
export type ReceiptBody = z.infer<typeof receiptSchema>;

/** The record id of the receipt of gateway `gateway`'s (hex) transfer `transfer` (one receipt per transfer). */
export function receiptRecordId(gateway: string, transfer: string): string {
  return RECEIPT_RECORD_PREFIX + transferKey(gateway, transfer);
}

/** Rules the schema cannot express; the same for signing and opening. */
function receiptProblem(r: ReceiptBody): string | undefined {
  const id = receiptRecordId(r.gateway, r.transferId);
  if (r.recordId !== id) return `recordId '${r.recordId}' is not '${id}'`;
  if (r.exporter === r.importer) return `exporter and importer are both ${r.exporter}`;
  let sum = 0;
  let end = -1;
  for (const g of r.ranges) {
    if (g.length === 0) return 'a range is empty';
    if (g.offset <= end) return 'ranges overlap or are out of order';
    end = g.offset + g.length - 1;
    sum += g.length;
  }
  if (sum !== r.bytes) return `ranges cover ${sum} bytes, the receipt says ${r.bytes}`;
  return undefined;
}

/**
 * Signs a receipt with the gateway key; `gateway` in the body must be that key.
 * @example signReceipt({ version: 2, recordId: receiptRecordId(gatewayHex, t), transferId: t, …, bytes: 1048576 }, gatewayKey)
 * @throws InvalidArgumentError for a malformed or inconsistent body.
 */
export function signReceipt(body: ReceiptBody, gatewayKey: KeyPair): SignedDocument {
  const parsed = receiptSchema.safeParse(body);
  if (!parsed.success) throw new InvalidArgumentError(`receipt: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const problem = receiptProblem(parsed.data);
  if (problem) throw new InvalidArgumentError(`receipt for transfer '${body.transferId}': ${problem}`);
  if (parsed.data.gateway !== toHex(gatewayKey.publicKey)) throw new InvalidArgumentError('receipt: gateway is not the signing key');
  return signJson(RECEIPT_TAG, parsed.data, gatewayKey);
}

/**
 * Verifies a receipt with the gateway key named in its body and returns the
 * body. The CALLER must then check that this key is a gateway it trusts for
 * `importer` (a receipt proves only who signed it).
 * @throws IntegrityError when the signature does not verify (e.g. bytes changed after signing).
 * @throws LayoutInvalidError when the body is not a version-2 receipt.
 */
export function openReceipt(signed: SignedDocument): ReceiptBody {
  const r = openSelfSigned(RECEIPT_TAG, signed, 'gateway', (v) => parseShape('receipt', receiptSchema, v));
  const problem = receiptProblem(r);
  if (problem) throw new LayoutInvalidError(`receipt for transfer '${r.transferId}': ${problem}`);
  return r;
}
