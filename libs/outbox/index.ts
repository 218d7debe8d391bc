/**
 * libs/outbox: the transactional outbox every service uses for messages that
 * must not be lost or doubled (NATS events, usage records, receipts).
 */
export { Outbox, createOutboxTable } from './outbox-table.js';
export type { OutboxMessage, OutboxRow, OutboxState, OutboxCounts } from './outbox-table.js';
export { startOutboxPump } from './pump.js';
export type { OutboxPump, PumpOptions, SendFn, SendResult } from './pump.js';
