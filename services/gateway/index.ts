/** Gateway service: public names (docs/gateway.md). */
export { startGateway, GATEWAY_METHOD_ROLES } from './server.js';
export type { StartGatewayOptions, RunningGateway } from './server.js';
export { loadGatewayConfig, resolveGatewayConfig, writeGatewayConfig, gatewayConfigSchema } from './config.js';
export type { GatewayConfig } from './config.js';
export { Resolver } from './resolver.js';
export type { ResolutionSource, ResolverOptions } from './resolver.js';
export { GatewayStore } from './transfer-store.js';
export type { GatewayTransfer, UsageLine } from './transfer-store.js';
export { gatewayMigrations, GATEWAY_MIGRATIONS_TABLE, GATEWAY_TRANSFERS_TABLE, GATEWAY_OUTBOX_TABLE } from './migrations.js';
export { receiptsForFetch, receiptDeliveryId, RECEIPT_DELIVERY_CHANNEL, NATS_CHANNEL } from './receipts.js';
export type { FinishedFetch, ReceiptDeliveryPayload } from './receipts.js';
export { startGatewayPumps, receiptDeliverySender } from './outbox-pumps.js';
export type { GatewayPumps, PumpTiming } from './outbox-pumps.js';
export { fetchLongDistance } from './long-distance-fetch.js';
export type { ChunkSink, LongDistanceFetchInput, LongDistanceFetchDeps, LongDistanceFetchResult, AttemptReport } from './long-distance-fetch.js';
export { longDistanceCap } from './handlers.js';
