/**
 * The grid manager's consumer of per-client usage events (docs/events.md):
 * durable consumer GRID_MANAGER_CONSUMER on CLIENT_USAGE_SUBJECT; each event
 * is counted once in TransferTallyStore (one transaction) and acked after the
 * commit. Only events signed by a gateway this grid manager approved (and has
 * not revoked) are counted: an unsigned, forged or foreign event is dropped
 * (acked, logged, counted in intergrid_grid_usage_events_dropped_total), so
 * whoever can publish on the grid's NATS cannot bill a client. Runs in the background: a NATS outage at start or later delays the
 * tallies, it never stops the grid manager.
 */
import { shortKey } from '../../libs/crypto/index.js';
import { IntegrityError, LayoutInvalidError } from '../../libs/errors/index.js';
import {
  EventBus,
  openSignedClientUsageEvent,
  CLIENT_USAGE_SUBJECT,
  GRID_MANAGER_CONSUMER,
  type NatsConfig,
  type RunningConsumer,
} from '../../libs/events/index.js';
import type { TransferTallyStore } from './transfer-tally-store.js';

export interface UsageEventConsumerOptions {
  nats: NatsConfig;
  tallies: TransferTallyStore;
  /** Connection name, e.g. 'grid-manager 101'. */
  name: string;
  /** True when `key` is a gateway this grid manager approved and has not revoked (the signer of every event it counts). */
  isGridGateway(key: Uint8Array): Promise<boolean>;
  /** Problems that are logged and recovered from (NATS down, malformed event). */
  log(message: string): void;
  /** Called after each event was handled (tests, the dropped-events metric). */
  onEvent?(outcome: UsageEventOutcome): void;
}

/** What became of one event: counted, already counted, or dropped (unreadable / unsigned; bad signature; signer not our gateway). */
export type UsageEventOutcome = 'applied' | 'duplicate' | 'malformed' | 'forged' | 'foreign-signer';

export interface RunningUsageEventConsumer {
  /** Stops consuming (the event in progress is committed and acked first) and closes the connection. */
  stop(): Promise<void>;
}

/** Starts consuming in the background; returns at once. */
export function startUsageEventConsumer(opts: UsageEventConsumerOptions): RunningUsageEventConsumer {
  const abort = new AbortController();
  let bus: EventBus | undefined;
  let consumer: RunningConsumer | undefined;
  const onError = (err: unknown, context: string): void => opts.log(`nats: ${context}: ${err instanceof Error ? err.message : String(err)}`);
  const started = (async () => {
    try {
      bus = await EventBus.connect(opts.nats, { name: opts.name, signal: abort.signal, onError });
    } catch {
      return; // aborted by stop() before the first connection
    }
    if (abort.signal.aborted) return;
    consumer = bus.consume(GRID_MANAGER_CONSUMER, CLIENT_USAGE_SUBJECT, async (data, msg) => {
      let outcome: UsageEventOutcome;
      try {
        const { event, signer } = openSignedClientUsageEvent(data);
        if (await opts.isGridGateway(signer)) {
          outcome = await opts.tallies.apply(event);
        } else {
          opts.log(`nats: dropped usage event seq ${msg.seq} (${event.eventId}): signed by ${shortKey(signer)}, which is not an approved, unrevoked gateway of this grid`);
          outcome = 'foreign-signer';
        }
      } catch (err) {
        // An event that is unreadable, unsigned or forged can never be counted:
        // log it and ack it, so it does not block the consumer. Any other error (database) → nak, retried.
        if (!(err instanceof LayoutInvalidError) && !(err instanceof IntegrityError)) throw err;
        opts.log(`nats: dropped usage event seq ${msg.seq}: ${err.message}`);
        outcome = err instanceof IntegrityError ? 'forged' : 'malformed';
      }
      opts.onEvent?.(outcome);
    });
  })();
  return {
    async stop() {
      abort.abort();
      await started;
      await consumer?.stop();
      await bus?.close();
    },
  };
}
