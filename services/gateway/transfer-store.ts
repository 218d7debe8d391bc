/**
 * The gateway's store (knex: SQLite or PostgreSQL): one row per
 * contact-point attempt that delivered verified bytes, with the receipt the
 * gateway signed for it, and the outbox (libs/outbox) of the messages those
 * receipts cause. A transfer row and its outbox messages are written in ONE
 * transaction, so a receipt is never stored without being reported, nor
 * reported without being stored.
 *
 * GetUsage reads its per-(client, remote area) lines from here, so usage
 * survives restarts.
 */
import type { Knex } from 'knex';
import type { SignedDocument } from '../../libs/auth/index.js';
import { fromHex } from '../../libs/crypto/index.js';
import { Outbox, type OutboxMessage } from '../../libs/outbox/index.js';
import { GATEWAY_OUTBOX_TABLE, GATEWAY_TRANSFERS_TABLE } from './migrations.js';

/** One contact-point attempt with verified bytes, as stored. */
export interface GatewayTransfer {
  transferId: string;
  /** The client's Fetch call it belonged to. */
  fetchId: string;
  /** Client public key, hex. */
  client: string;
  remoteAreaCode: string;
  /** Contact point public key, hex. */
  contactPoint: string;
  contactPointAddress: string;
  /** Storage index, hex. */
  storageIndex: string;
  /** Verified ciphertext bytes forwarded from this attempt. */
  bytes: number;
  segments: number;
  priceUnitsPerGib: number;
  priceAsOfMs: number;
  atMs: number;
  /** The receipt the gateway signed for these bytes. */
  receipt: SignedDocument;
}

/** One GetUsage line: verified bytes per (client, remote area code). */
export interface UsageLine {
  /** The client's public key. */
  client: Uint8Array;
  remoteAreaCode: string;
  /** Ciphertext bytes verified and forwarded to this client from that grid. */
  verifiedBytes: number;
  /** Fetches that delivered verified bytes (one per client Fetch call, whatever the failovers). */
  transfers: number;
  /** The remote grid's price at the latest transfer. */
  priceUnitsPerGib: number;
}

type Row = {
  seq: number;
  transfer_id: string;
  fetch_id: string;
  client_key: string;
  remote_area: string;
  contact_point_key: string;
  contact_point_address: string;
  storage_index: string;
  bytes: number | string;
  segments: number;
  price_units_per_gib: number | string;
  price_as_of_ms: number | string;
  at_ms: number | string;
  receipt_body: string;
  receipt_signature: string;
};

function fromRow(r: Row): GatewayTransfer {
  return {
    transferId: r.transfer_id,
    fetchId: r.fetch_id,
    client: r.client_key,
    remoteAreaCode: r.remote_area,
    contactPoint: r.contact_point_key,
    contactPointAddress: r.contact_point_address,
    storageIndex: r.storage_index,
    bytes: Number(r.bytes),
    segments: Number(r.segments),
    priceUnitsPerGib: Number(r.price_units_per_gib),
    priceAsOfMs: Number(r.price_as_of_ms),
    atMs: Number(r.at_ms),
    receipt: { body: Buffer.from(r.receipt_body, 'base64'), signature: Buffer.from(r.receipt_signature, 'base64') },
  };
}

export class GatewayStore {
  /** The outbox (channels 'clearinghouse', 'receipt-delivery', 'nats'). */
  readonly outbox: Outbox;

  constructor(readonly knex: Knex) {
    this.outbox = new Outbox(knex, GATEWAY_OUTBOX_TABLE);
  }

  /**
   * Stores the transfers of one fetch and their outbox messages in one
   * transaction (a transfer id already stored is an error: ids are random).
   */
  async recordTransfers(transfers: readonly GatewayTransfer[], messages: readonly OutboxMessage[]): Promise<void> {
    if (transfers.length === 0 && messages.length === 0) return;
    await this.knex.transaction(async (trx) => {
      if (transfers.length > 0) {
        await trx(GATEWAY_TRANSFERS_TABLE).insert(
          transfers.map((t) => ({
            transfer_id: t.transferId,
            fetch_id: t.fetchId,
            client_key: t.client,
            remote_area: t.remoteAreaCode,
            contact_point_key: t.contactPoint,
            contact_point_address: t.contactPointAddress,
            storage_index: t.storageIndex,
            bytes: t.bytes,
            segments: t.segments,
            price_units_per_gib: t.priceUnitsPerGib,
            price_as_of_ms: t.priceAsOfMs,
            at_ms: t.atMs,
            receipt_body: Buffer.from(t.receipt.body).toString('base64'),
            receipt_signature: Buffer.from(t.receipt.signature).toString('base64'),
          })),
        );
      }
      await this.outbox.add(trx, messages);
    });
  }

  /** One stored transfer by id. */
  async transfer(transferId: string): Promise<GatewayTransfer | undefined> {
    const r: Row | undefined = await this.knex(GATEWAY_TRANSFERS_TABLE).where({ transfer_id: transferId }).first();
    return r ? fromRow(r) : undefined;
  }

  /** Stored transfers, oldest first (optionally of one fetch). */
  async transfers(filter: { fetchId?: string } = {}): Promise<GatewayTransfer[]> {
    const q = this.knex(GATEWAY_TRANSFERS_TABLE).orderBy('seq');
    if (filter.fetchId !== undefined) q.where({ fetch_id: filter.fetchId });
    const rows: Row[] = await q;
    return rows.map(fromRow);
  }

  /** Usage per (client, remote area code), sorted by client then area code. */
  async usage(): Promise<UsageLine[]> {
    const rows = (await this.knex(GATEWAY_TRANSFERS_TABLE)
      .select('client_key', 'remote_area')
      .sum({ bytes: 'bytes' })
      .countDistinct({ transfers: 'fetch_id' })
      .max({ last: 'seq' })
      .groupBy('client_key', 'remote_area')
      .orderBy([{ column: 'client_key' }, { column: 'remote_area' }])) as {
      client_key: string;
      remote_area: string;
      bytes: number | string;
      transfers: number | string;
      last: number;
    }[];
    const prices = new Map<number, number>();
    const lastSeqs = rows.map((r) => Number(r.last));
    for (let i = 0; i < lastSeqs.length; i += 500) {
      const found: { seq: number; price_units_per_gib: number | string }[] = await this.knex(GATEWAY_TRANSFERS_TABLE)
        .select('seq', 'price_units_per_gib')
        .whereIn('seq', lastSeqs.slice(i, i + 500));
      for (const f of found) prices.set(Number(f.seq), Number(f.price_units_per_gib));
    }
    return rows.map((r) => ({
      client: fromHex(r.client_key, 'stored client_key', 32),
      remoteAreaCode: r.remote_area,
      verifiedBytes: Number(r.bytes),
      transfers: Number(r.transfers),
      priceUnitsPerGib: prices.get(Number(r.last)) ?? 0,
    }));
  }
}
