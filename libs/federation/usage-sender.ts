/**
 * Reporting usage records to the clearinghouse from a transactional outbox
 * (libs/outbox): the send function of the 'clearinghouse' channel, used by
 * the gateway (its receipts) and the contact point (its served records)
 * alike (docs/billing.md "Reporting").
 *
 * Outbox row payload: JSON `{ "kind": "receipt" | "served", "body": base64,
 * "signature": base64 }` (usageRecordPayload builds it); the row id is the
 * record id, which the clearinghouse dedupes on.
 *
 * Outcomes: ACCEPTED or DUPLICATE → done (counted once at the
 * clearinghouse); REJECTED → rejected for good, with the clearinghouse's
 * message; any RPC error (UNAVAILABLE, UNIMPLEMENTED while the clearinghouse
 * does not take reports yet, DEADLINE_EXCEEDED, …) → thrown, so the pump
 * backs off and sends the batch again later.
 */
import { securedClient, type Identity, type Peer, type SignedDocument } from '../auth/index.js';
import { InternalError } from '../errors/index.js';
import type { SendFn, SendResult } from '../outbox/index.js';
import { call, clearinghouseProto } from '../rpc/index.js';
import type { ClearinghouseClient, ReportUsageRequest, ReportUsageResponse__Output } from '../rpc/proto-types.js';
import type { UsageRecordKind } from '../usage/index.js';

/** The outbox channel name both services use for usage records. */
export const CLEARINGHOUSE_CHANNEL = 'clearinghouse';

/** Most records in one ReportUsage call (proto ReportUsageRequest). */
export const MAX_RECORDS_PER_REPORT = 1000;

/** The payload of a 'clearinghouse' outbox row. */
export interface UsageRecordPayload {
  kind: UsageRecordKind;
  /** base64 of the signed body. */
  body: string;
  /** base64 of the signature. */
  signature: string;
}

/**
 * The outbox payload (JSON text) of a signed usage record.
 * @example outbox.add(trx, [{ id: receipt.recordId, channel: CLEARINGHOUSE_CHANNEL, payload: usageRecordPayload('receipt', signed) }])
 */
export function usageRecordPayload(kind: UsageRecordKind, signed: SignedDocument): string {
  const p: UsageRecordPayload = { kind, body: Buffer.from(signed.body).toString('base64'), signature: Buffer.from(signed.signature).toString('base64') };
  return JSON.stringify(p);
}

function parsePayload(text: string): UsageRecordPayload | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `payload is not JSON: ${(err as Error).message}`;
  }
  const p = v as Partial<UsageRecordPayload> | null;
  if (!p || typeof p !== 'object' || typeof p.kind !== 'string' || typeof p.body !== 'string' || typeof p.signature !== 'string') {
    return 'payload is not {kind, body, signature}';
  }
  return p as UsageRecordPayload;
}

/**
 * A raw Clearinghouse client signing as `identity` (pass a function to
 * present renewed certificates), for clearinghouseUsageSender.
 */
export function clearinghouseRpcClient(clearinghouse: Peer, identity: Identity | (() => Identity)): ClearinghouseClient {
  const Ctor = clearinghouseProto().intergrid.clearinghouse.Clearinghouse;
  return securedClient<ClearinghouseClient>(Ctor, clearinghouse, identity);
}

export interface UsageSenderOptions {
  /** Per-call deadline (ms); default 15 000. */
  deadlineMs?: number;
}

/**
 * The send function of a 'clearinghouse' outbox channel.
 * @param getClient the clearinghouse client (called per batch, so a service may replace it).
 * @example startOutboxPump(outbox, CLEARINGHOUSE_CHANNEL, clearinghouseUsageSender(() => client), { onError })
 */
export function clearinghouseUsageSender(getClient: () => ClearinghouseClient, opts: UsageSenderOptions = {}): SendFn {
  return async (rows) => {
    const out: SendResult = { done: [], rejected: [] };
    const sendable: { id: string; record: { kind: string; body: Buffer; signature: Buffer } }[] = [];
    for (const row of rows) {
      const p = parsePayload(row.payload);
      if (typeof p === 'string') out.rejected!.push({ id: row.id, reason: `not sent: ${p}` });
      else sendable.push({ id: row.id, record: { kind: p.kind, body: Buffer.from(p.body, 'base64'), signature: Buffer.from(p.signature, 'base64') } });
    }
    for (let i = 0; i < sendable.length; i += MAX_RECORDS_PER_REPORT) {
      const batch = sendable.slice(i, i + MAX_RECORDS_PER_REPORT);
      const client = getClient();
      // An RPC error throws: the pump retries the whole batch later (the clearinghouse dedupes by record id).
      const res = await call<ReportUsageRequest, ReportUsageResponse__Output>(
        client,
        client.reportUsage,
        { records: batch.map((b) => b.record) },
        { peer: `clearinghouse ${client.getChannel().getTarget()}`, deadlineMs: opts.deadlineMs },
      );
      const seen = new Set<number>();
      for (const r of res.results ?? []) {
        const index = Number(r.index);
        const entry = batch[index];
        if (!entry || seen.has(index)) throw new InternalError(`clearinghouse answered for record index ${index} of a batch of ${batch.length}`);
        seen.add(index);
        if (r.outcome === 'ACCEPTED' || r.outcome === 'DUPLICATE') out.done.push(entry.id);
        else out.rejected!.push({ id: entry.id, reason: `clearinghouse rejected the record: ${r.message || 'no reason given'}` });
      }
      // Records the clearinghouse did not answer for stay pending (neither done nor rejected).
    }
    return out;
  };
}
