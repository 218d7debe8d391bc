/**
 * The send function of a NATS outbox channel (libs/outbox startOutboxPump):
 * each pending row's payload (UTF-8) is published with JetStream msgID =
 * row id, so a row sent twice (crash between ack and "mark sent") is stored
 * once by the stream's duplicate window, and once more by the consumer's
 * processed table.
 */
import { UnavailableError } from '../errors/index.js';
import type { SendFn } from '../outbox/index.js';
import type { EventBus } from './event-bus.js';

/**
 * Returns `send(rows)` for `startOutboxPump(outbox, channel, send, opts)`.
 * Rows are published in order; the ids acked before the first failure are
 * returned as done (the rest stay pending). When not even the first row was
 * acked, it throws, so the pump backs off and retries.
 * @param bus the bus, or a getter returning it once connected (undefined
 *   before: the pump retries later), so a service can start before NATS.
 */
export function natsOutboxSender(
  bus: EventBus | (() => EventBus | undefined),
  subject: string,
): SendFn {
  const encoder = new TextEncoder();
  return async (rows) => {
    const b = typeof bus === 'function' ? bus() : bus;
    if (!b) throw new UnavailableError('not connected to NATS yet');
    const done: string[] = [];
    for (const row of rows) {
      try {
        await b.publish(subject, encoder.encode(row.payload), row.id);
      } catch (err) {
        if (done.length === 0) throw err;
        break;
      }
      done.push(row.id);
    }
    return { done };
  };
}
