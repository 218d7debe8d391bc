/**
 * Receipts for a finished long-distance fetch (docs/gateway.md "Receipts
 * and usage"): for every contact-point attempt that delivered verified bytes,
 * the gateway signs a receipt (libs/usage) covering exactly those bytes —
 * the segments SegmentStreamChecker accepted and the gateway forwarded from
 * THAT attempt — and queues three outbox messages with it:
 *
 *  - 'clearinghouse'    the receipt as a usage record of kind 'receipt' (id = recordId);
 *  - 'receipt-delivery' SubmitReceipt to the contact point that served the bytes;
 *  - 'nats'             (only with a `nats` config) the per-client usage event.
 *
 * Pure: the store writes the result in one transaction.
 */
import type { KeyPair } from '../../libs/crypto/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { clientUsageEventId, signClientUsageEvent } from '../../libs/events/index.js';
import { CLEARINGHOUSE_CHANNEL, usageRecordPayload, type Resolution } from '../../libs/federation/index.js';
import { costOf } from '../../libs/ledger/index.js';
import type { OutboxMessage } from '../../libs/outbox/index.js';
import { RECEIPT_VERSION, receiptRecordId, signReceipt } from '../../libs/usage/index.js';
import type { AttemptReport } from './long-distance-fetch.js';
import type { GatewayTransfer } from './transfer-store.js';

/** Outbox channel: receipts on their way to the contact point that served the bytes. */
export const RECEIPT_DELIVERY_CHANNEL = 'receipt-delivery';
/** Outbox channel: per-client usage events for this grid's NATS. */
export const NATS_CHANNEL = 'nats';

/** The payload of a 'receipt-delivery' row. */
export interface ReceiptDeliveryPayload {
  /** The contact point's address (host:port) at the time of the transfer. */
  address: string;
  /** base64 of the signed receipt body and signature. */
  body: string;
  signature: string;
}

/** Id of the 'receipt-delivery' row of a receipt of gateway `gateway` (hex) (outbox ids are unique across channels). */
export function receiptDeliveryId(gateway: string, transferId: string): string {
  return `deliver-${receiptRecordId(gateway, transferId)}`;
}

export interface FinishedFetch {
  /** Names the client's Fetch call (groups its attempts). */
  fetchId: string;
  /** Client public key. */
  client: Uint8Array;
  /** The remote (exporting) grid. */
  remoteAreaCode: string;
  /** This (importing) grid. */
  ownAreaCode: string;
  /** Storage index of the file (the verify-cap's). */
  storageIndex: Uint8Array;
  /** The signed resolution the fetch used: its price and issuedAtMs fix the transfer's price. */
  resolution: Resolution;
  attempts: readonly AttemptReport[];
  gatewayKey: KeyPair;
  /** Whether to queue per-client usage events (config.nats is set). */
  nats: boolean;
  atMs: number;
}

/**
 * Signs one receipt per attempt with verified bytes and builds the rows and
 * outbox messages to store for them. Attempts with no verified byte get none.
 */
export function receiptsForFetch(f: FinishedFetch): { transfers: GatewayTransfer[]; messages: OutboxMessage[] } {
  const transfers: GatewayTransfer[] = [];
  const messages: OutboxMessage[] = [];
  const gateway = toHex(f.gatewayKey.publicKey);
  const client = toHex(f.client);
  const storageIndex = toHex(f.storageIndex);
  const price = f.resolution.priceUnitsPerGib;
  for (const a of f.attempts) {
    if (a.bytes <= 0) continue;
    const recordId = receiptRecordId(gateway, a.transferId);
    const receipt = signReceipt(
      {
        version: RECEIPT_VERSION,
        recordId,
        transferId: a.transferId,
        storageIndex,
        ranges: a.ranges.map((r) => ({ offset: r.offset, length: r.length })),
        bytes: a.bytes,
        priceUnitsPerGib: price,
        priceAsOfMs: f.resolution.issuedAtMs,
        exporter: f.remoteAreaCode,
        importer: f.ownAreaCode,
        gateway,
        contactPoint: a.contactPoint,
        atMs: f.atMs,
      },
      f.gatewayKey,
    );
    transfers.push({
      transferId: a.transferId,
      fetchId: f.fetchId,
      client,
      remoteAreaCode: f.remoteAreaCode,
      contactPoint: a.contactPoint,
      contactPointAddress: a.address,
      storageIndex,
      bytes: a.bytes,
      segments: a.segments,
      priceUnitsPerGib: price,
      priceAsOfMs: f.resolution.issuedAtMs,
      atMs: f.atMs,
      receipt,
    });
    messages.push({ id: recordId, channel: CLEARINGHOUSE_CHANNEL, payload: usageRecordPayload('receipt', receipt) });
    const delivery: ReceiptDeliveryPayload = {
      address: a.address,
      body: Buffer.from(receipt.body).toString('base64'),
      signature: Buffer.from(receipt.signature).toString('base64'),
    };
    messages.push({ id: receiptDeliveryId(gateway, a.transferId), channel: RECEIPT_DELIVERY_CHANNEL, payload: JSON.stringify(delivery) });
    if (f.nats) {
      const eventId = clientUsageEventId(a.transferId);
      // Signed with the gateway key: the grid manager tallies only events its own gateways signed.
      const event = signClientUsageEvent({
        version: 1,
        eventId,
        transferId: a.transferId,
        client,
        remoteAreaCode: f.remoteAreaCode,
        bytes: a.bytes,
        priceUnitsPerGib: price,
        units: costOf(a.bytes, price),
        atMs: f.atMs,
      }, f.gatewayKey);
      messages.push({ id: eventId, channel: NATS_CHANNEL, payload: new TextDecoder().decode(event) });
    }
  }
  return { transfers, messages };
}
