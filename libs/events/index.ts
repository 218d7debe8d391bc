/**
 * libs/events: usage events inside one grid over NATS JetStream
 * (DESIGN.md "Events inside a grid", docs/events.md): config section,
 * stream and subject names, the per-client usage event, the EventBus
 * (publish with msgID dedupe, durable consumers with ack after handling)
 * and the send function of a NATS outbox channel.
 */
export { natsConfigSchema, natsCredentialsSchema } from './config.js';
export type { NatsConfig, NatsCredentials } from './config.js';
export { generateNatsCredentials, readNatsCredentialsFile, writeNatsCredentialsFile } from './credentials.js';
export { USAGE_STREAM, USAGE_SUBJECTS, CLIENT_USAGE_SUBJECT, GRID_MANAGER_CONSUMER } from './subjects.js';
export {
  encodeClientUsageEvent,
  parseClientUsageEvent,
  clientUsageEventId,
  signClientUsageEvent,
  openSignedClientUsageEvent,
  CLIENT_USAGE_EVENT_TAG,
  CLIENT_USAGE_EVENT_VERSION,
  MAX_EVENT_ID_LENGTH,
} from './client-usage-event.js';
export type { ClientUsageEvent, SignedClientUsageEvent } from './client-usage-event.js';
export { EventBus } from './event-bus.js';
export type { EventBusOptions, EventHandler, DeliveredMessage, ConsumeOptions, RunningConsumer } from './event-bus.js';
export { natsOutboxSender } from './outbox-sender.js';
