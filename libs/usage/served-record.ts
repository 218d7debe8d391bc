/**
 * Served records: the exporting grid's contact point reports the ciphertext
 * bytes it served in one transfer — its OWN count, never the gateway's —
 * with the gateway's receipt for them (null when no receipt came: the
 * clearinghouse then opens a dispute instead of posting). The clearinghouse
 * posts only when the two figures are equal, so neither side can set the
 * bill alone: a receipt for less than was served, or a served count above
 * the receipt, is a dispute.
 *
 * Body: canonical JSON under SERVED_TAG, signed by the contact point key
 * named in the body (docs/billing.md "Served record"):
 *
 *   { "atMs", "bytes", "contactPoint": hex, "exporter", "gateway": hex,
 *     "importer", "receipt": { "body": base64, "signature": base64 } | null,
 *     "recordId": "srv-<gateway>:<transferId>", "startedAtMs",
 *     "storageIndex": hex, "transferId", "version": 2 }
 *
 * `bytes`: the ciphertext of the whole verified segments this contact point
 * handed to gRPC in the transfer (0 when it has no count: it never served
 * the transfer, or restarted while serving it). `startedAtMs`: when
 * FetchSegments began here (the clearinghouse bounds the receipt's price
 * date by it). `atMs`: when the record was signed.
 *
 * Version 2 (tag v2): record id namespaced by the gateway key, bytes = own
 * count (v1 reported min(receipt, count)), startedAtMs added. Version 1
 * documents are refused.
 */
import { z } from 'zod';
import { signJson, type SignedDocument } from '../auth/index.js';
import { toHex, type KeyPair } from '../crypto/index.js';
import { InvalidArgumentError, LayoutInvalidError } from '../errors/index.js';
import { areaCodeSchema as areaCode } from '../caps/index.js';
import { hexKey, openSelfSigned, parseShape, safeUint, transferId, transferKey } from './document.js';
import { openReceipt, type ReceiptBody } from './receipt.js';

export const SERVED_TAG = 'intergrid:served:v2';
export const SERVED_VERSION = 2;
export const SERVED_RECORD_PREFIX = 'srv-';
/** Largest embedded receipt (base64 of body or signature). */
const MAX_EMBEDDED = 16_384;

const base64 = z.string().max(MAX_EMBEDDED).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');

const servedSchema = z
  .object({
    version: z.literal(SERVED_VERSION),
    recordId: z.string().min(1).max(220),
    transferId,
    storageIndex: z.string().regex(/^[0-9a-f]{32}$/, 'expected 16 bytes of hex'),
    bytes: safeUint,
    exporter: areaCode,
    importer: areaCode,
    gateway: hexKey,
    contactPoint: hexKey,
    startedAtMs: safeUint,
    atMs: safeUint,
    receipt: z.object({ body: base64, signature: base64 }).strict().nullable(),
  })
  .strict();

/** A served record's signed fields. */
export type ServedRecordBody = z.infer<typeof servedSchema>;

/** A verified served record and the verified receipt it carries (if any). */
export interface OpenedServedRecord {
  served: ServedRecordBody;
  receipt: ReceiptBody | null;
}

/** The record id of the served record of gateway `gateway`'s (hex) transfer `transfer`. */
export function servedRecordId(gateway: string, transfer: string): string {
  return SERVED_RECORD_PREFIX + transferKey(gateway, transfer);
}

/** The receipt in the form a served record embeds it. */
export function embedReceipt(signed: SignedDocument): { body: string; signature: string } {
  return { body: Buffer.from(signed.body).toString('base64'), signature: Buffer.from(signed.signature).toString('base64') };
}

/** The signed receipt embedded in a served record, as bytes. */
export function embeddedReceipt(served: ServedRecordBody): SignedDocument | null {
  if (!served.receipt) return null;
  return { body: Buffer.from(served.receipt.body, 'base64'), signature: Buffer.from(served.receipt.signature, 'base64') };
}

function servedProblem(s: ServedRecordBody): string | undefined {
  const id = servedRecordId(s.gateway, s.transferId);
  if (s.recordId !== id) return `recordId '${s.recordId}' is not '${id}'`;
  if (s.exporter === s.importer) return `exporter and importer are both ${s.exporter}`;
  if (s.startedAtMs > s.atMs) return `startedAtMs ${s.startedAtMs} is after atMs ${s.atMs}`;
  return undefined;
}

/** A receipt must describe the same transfer between the same parties as the record carrying it. */
function receiptMismatch(s: ServedRecordBody, r: ReceiptBody): string | undefined {
  for (const f of ['transferId', 'storageIndex', 'exporter', 'importer', 'gateway', 'contactPoint'] as const) {
    if (s[f] !== r[f]) return `its receipt's ${f} '${r[f]}' differs from the record's '${s[f]}'`;
  }
  return undefined;
}

/**
 * Signs a served record with the contact point key; `contactPoint` in the body must be that key.
 * @throws InvalidArgumentError for a malformed or inconsistent body.
 */
export function signServedRecord(body: ServedRecordBody, contactPointKey: KeyPair): SignedDocument {
  const parsed = servedSchema.safeParse(body);
  if (!parsed.success) throw new InvalidArgumentError(`served record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const problem = servedProblem(parsed.data);
  if (problem) throw new InvalidArgumentError(`served record for transfer '${body.transferId}': ${problem}`);
  if (parsed.data.contactPoint !== toHex(contactPointKey.publicKey)) throw new InvalidArgumentError('served record: contactPoint is not the signing key');
  return signJson(SERVED_TAG, parsed.data, contactPointKey);
}

/** Options of openServedRecord. */
export interface OpenServedOptions {
  /**
   * Opens the embedded receipt instead of openReceipt — e.g. a cache that
   * returns the body of a byte-identical receipt it already verified with
   * openReceipt (the clearinghouse's ingest), and calls openReceipt otherwise.
   */
  openReceipt?(signed: SignedDocument): ReceiptBody;
}

/**
 * Verifies a served record with the contact point key named in it, and its
 * receipt (if any) with the gateway key named in that. The CALLER checks
 * that both keys are trusted for `exporter` and `importer`.
 * @throws IntegrityError when either signature does not verify.
 * @throws LayoutInvalidError for a malformed record or a receipt about another transfer.
 */
export function openServedRecord(signed: SignedDocument, opts: OpenServedOptions = {}): OpenedServedRecord {
  const served = openSelfSigned(SERVED_TAG, signed, 'contactPoint', (v) => parseShape('served record', servedSchema, v));
  const problem = servedProblem(served);
  if (problem) throw new LayoutInvalidError(`served record for transfer '${served.transferId}': ${problem}`);
  const embedded = embeddedReceipt(served);
  if (!embedded) return { served, receipt: null };
  const receipt = (opts.openReceipt ?? openReceipt)(embedded);
  const mismatch = receiptMismatch(served, receipt);
  if (mismatch) throw new LayoutInvalidError(`served record for transfer '${served.transferId}': ${mismatch}`);
  return { served, receipt };
}
