// Public names of libs/metrics (docs/architecture.md "Operations").
export { ServiceMetrics, serveMetrics, type MetricsEndpoint } from './service-metrics.js';
export { listenWithMetrics, type Listening } from './listen.js';
export { serviceLogger, logLevelFromEnv, LOG_LEVEL_ENV, LOG_LEVELS, DEFAULT_LOG_LEVEL, type LogLevel, type ServiceLoggerOptions } from './logger.js';
