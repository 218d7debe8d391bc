// Public names of libs/metrics (docs/architecture.md "Operations").
export { ServiceMetrics, serveMetrics, type MetricsEndpoint } from './service-metrics.js';
export { listenWithMetrics, type Listening } from './listen.js';
