/** Gateway service: public names (docs/gateway.md). */
export { startGateway, GATEWAY_METHOD_ROLES } from './server.js';
export type { StartGatewayOptions, RunningGateway } from './server.js';
export { loadGatewayConfig, resolveGatewayConfig, writeGatewayConfig, gatewayConfigSchema } from './config.js';
export type { GatewayConfig } from './config.js';
export { Resolver } from './resolver.js';
export type { ResolutionSource, ResolverOptions } from './resolver.js';
export { UsageMeter } from './usage.js';
export type { UsageLine } from './usage.js';
export { fetchLongDistance } from './long-distance-fetch.js';
export type { ChunkSink, LongDistanceFetchInput, LongDistanceFetchDeps, LongDistanceFetchResult, AttemptReport } from './long-distance-fetch.js';
export { longDistanceCap, requestRange } from './handlers.js';
