/**
 * The grid manager's consumer of per-client usage events (docs/events.md):
 * durable consumer GRID_MANAGER_CONSUMER on CLIENT_USAGE_SUBJECT; each event
 * is counted once in TransferTallyStore (one transaction) and acked after the
 * commit. Runs in the background: a NATS outage at start or later delays the
 * tallies, it never stops the grid manager.
 */
import { LayoutInvalidError } from '../../libs/errors/index.js';
import {
  EventBus,
  parseClientUsageEvent,
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
  /** Problems that are logged and recovered from (NATS down, malformed event). */
  log(message: string): void;
  /** Called after each event was handled (tests). */
  onEvent?(outcome: 'applied' | 'duplicate' | 'malformed'): void;
}

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
      let outcome: 'applied' | 'duplicate' | 'malformed';
      try {
        const event = parseClientUsageEvent(data);
        outcome = await opts.tallies.apply(event);
      } catch (err) {
        // A malformed event can never be counted: log it and ack it, so it
        // does not block the consumer. Any other error (database) → nak, retried.
        if (!(err instanceof LayoutInvalidError)) throw err;
        opts.log(`nats: dropped usage event seq ${msg.seq}: ${err.message}`);
        outcome = 'malformed';
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
