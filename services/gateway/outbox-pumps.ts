/**
 * The gateway's outbox pumps (libs/outbox), one per channel, started once
 * the store is open and stopped with the server:
 *
 *  - 'clearinghouse'    ReportUsage (libs/federation clearinghouseUsageSender);
 *                       an unavailable clearinghouse (or one answering
 *                       UNIMPLEMENTED) is retried with backoff.
 *  - 'receipt-delivery' SubmitReceipt to the contact point that served the
 *                       bytes; retried while it is down, given up after
 *                       receiptDeliveryMaxAgeMs; refused for good on
 *                       INVALID_ARGUMENT, PERMISSION_DENIED or ALREADY_EXISTS.
 *  - 'nats'             per-client usage events (libs/events natsOutboxSender),
 *                       only with a `nats` config.
 */
import * as grpc from '@grpc/grpc-js';
import type { Peer } from '../../libs/auth/index.js';
import { fromHex } from '../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../libs/errors/index.js';
import { CLIENT_USAGE_SUBJECT, EventBus, natsOutboxSender, type NatsConfig } from '../../libs/events/index.js';
import { CLEARINGHOUSE_CHANNEL, clearinghouseUsageSender } from '../../libs/federation/index.js';
import { startOutboxPump, type Outbox, type OutboxPump, type PumpOptions, type SendFn } from '../../libs/outbox/index.js';
import { call, grpcCodeOf } from '../../libs/rpc/index.js';
import type { ClearinghouseClient, ContactPointClient, SignedReceipt, Empty__Output } from '../../libs/rpc/proto-types.js';
import { NATS_CHANNEL, RECEIPT_DELIVERY_CHANNEL, type ReceiptDeliveryPayload } from './receipts.js';

/** Pump timing (tests shorten it). */
export type PumpTiming = Pick<PumpOptions, 'pollMs' | 'minBackoffMs' | 'maxBackoffMs' | 'batchSize'>;

/** Answers from a contact point that sending again cannot change. */
const FINAL_REFUSALS = new Set<number>([grpc.status.INVALID_ARGUMENT, grpc.status.PERMISSION_DENIED, grpc.status.ALREADY_EXISTS]);

/**
 * The send function of the 'receipt-delivery' channel: SubmitReceipt per
 * row, in parallel (one dead contact point does not hold back the others;
 * its rows are retried on their own backoff).
 */
export function receiptDeliverySender(contactPoint: (peer: Peer) => ContactPointClient, deadlineMs = 10_000): SendFn {
  return async (rows) => {
    const done: string[] = [];
    const rejected: { id: string; reason: string }[] = [];
    let failure: unknown;
    await Promise.all(
      rows.map(async (row) => {
        let p: ReceiptDeliveryPayload;
        try {
          p = JSON.parse(row.payload) as ReceiptDeliveryPayload;
        } catch (err) {
          rejected.push({ id: row.id, reason: `payload is not JSON: ${(err as Error).message}` });
          return;
        }
        let client: ContactPointClient;
        try {
          // The receipt names the contact point it is for: that key pins the channel it is delivered on.
          client = contactPoint({ address: p.address, publicKey: receiptContactPointKey(p.body) });
        } catch (err) {
          rejected.push({ id: row.id, reason: `payload names no contact point key: ${(err as Error).message}` });
          return;
        }
        try {
          await call<SignedReceipt, Empty__Output>(
            client,
            client.submitReceipt,
            { body: Buffer.from(p.body, 'base64'), signature: Buffer.from(p.signature, 'base64') },
            { peer: `contact point ${p.address}`, deadlineMs },
          );
          done.push(row.id);
        } catch (err) {
          const code = grpcCodeOf(err);
          if (code !== undefined && FINAL_REFUSALS.has(code)) rejected.push({ id: row.id, reason: (err as Error).message });
          // Anything else (down, deadline, unimplemented): not in done → retried after its backoff.
          else failure ??= err;
        }
      }),
    );
    // Nothing got through: throw the cause, so the pump logs it and backs off.
    if (failure !== undefined && done.length === 0 && rejected.length === 0) throw failure;
    return { done, rejected };
  };
}

export interface GatewayPumpsInput {
  outbox: Outbox;
  clearinghouse: () => ClearinghouseClient;
  contactPoint(peer: Peer): ContactPointClient;
  receiptDeliveryMaxAgeMs: number;
  nats?: NatsConfig;
  timing?: PumpTiming;
  /** Log line for a channel's failure streak or a dropped message. */
  log(line: string): void;
}

export interface GatewayPumps {
  /** Looks for new messages on every channel now. */
  wake(): void;
  /** Resolves once no message of any channel is pending. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

/** Reports a channel's errors once per streak (the first, then when the message changes). */
function streakLogger(channel: string, log: (line: string) => void): Pick<PumpOptions, 'onError' | 'onDropped'> {
  let last = '';
  return {
    onError: (err) => {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== last) log(`outbox '${channel}': ${msg} (will retry)`);
      last = msg;
    },
    onDropped: (row, state, reason) => log(`outbox '${channel}': message ${row.id} ${state}: ${reason}`),
  };
}

/** Starts the pumps of every channel the config enables. */
export function startGatewayPumps(input: GatewayPumpsInput): GatewayPumps {
  const timing = input.timing ?? {};
  const pumps: OutboxPump[] = [
    startOutboxPump(input.outbox, CLEARINGHOUSE_CHANNEL, clearinghouseUsageSender(input.clearinghouse), {
      ...timing,
      ...streakLogger(CLEARINGHOUSE_CHANNEL, input.log),
    }),
    startOutboxPump(input.outbox, RECEIPT_DELIVERY_CHANNEL, receiptDeliverySender(input.contactPoint), {
      ...timing,
      giveUpAfterMs: input.receiptDeliveryMaxAgeMs,
      ...streakLogger(RECEIPT_DELIVERY_CHANNEL, input.log),
    }),
  ];
  let bus: EventBus | undefined;
  const connecting = new AbortController();
  let connected: Promise<void> = Promise.resolve();
  if (input.nats) {
    const cfg = input.nats;
    connected = EventBus.connect(cfg, { name: 'gateway', signal: connecting.signal, onError: (err, ctx) => input.log(`nats: ${ctx}: ${err instanceof Error ? err.message : String(err)}`) }).then(
      (b) => {
        bus = b;
        pumps.forEach((p) => p.wake());
      },
      () => undefined,
    );
    pumps.push(startOutboxPump(input.outbox, NATS_CHANNEL, natsOutboxSender(() => bus, CLIENT_USAGE_SUBJECT), { ...timing, ...streakLogger(NATS_CHANNEL, input.log) }));
  }
  return {
    wake: () => pumps.forEach((p) => p.wake()),
    drained: async () => {
      await Promise.all(pumps.map((p) => p.drained()));
    },
    async stop() {
      connecting.abort();
      await Promise.all(pumps.map((p) => p.stop()));
      await connected;
      await bus?.close();
    },
  };
}

/** The contact point key named in a base64 receipt body (the receipt's own "contactPoint" field). */
function receiptContactPointKey(bodyBase64: string): Uint8Array {
  const body = JSON.parse(Buffer.from(bodyBase64, 'base64').toString('utf8')) as { contactPoint?: unknown };
  if (typeof body.contactPoint !== 'string') throw new InvalidArgumentError('the receipt has no contactPoint');
  return fromHex(body.contactPoint, 'receipt contactPoint', 32);
}
