/**
 * A service's two listeners, started and stopped as one: its gRPC server
 * (libs/rpc bindServer: SERVING once bound) and, when its config has
 * `metrics.listen`, the Prometheus endpoint. If either fails to start, the
 * gRPC server is shut down again, so a failed start leaves nothing listening.
 */
import type * as grpc from '@grpc/grpc-js';
import { bindServer, stopServer } from '../rpc/index.js';
import type { KeyPair } from '../crypto/index.js';
import { serveMetrics, type MetricsEndpoint, type ServiceMetrics } from './service-metrics.js';

export interface Listening {
  /** host:port of the gRPC server (port 0 resolved). */
  address: string;
  /** host:port of GET /metrics, when served. */
  metricsAddress?: string;
  /** Drains the gRPC server (libs/rpc stopServer), then closes the metrics endpoint. */
  stop(): Promise<void>;
}

/** Binds `server` on `listen` with TLS under `keyPair` (the service's identity key), then /metrics when configured. */
export async function listenWithMetrics(
  server: grpc.Server,
  listen: string,
  keyPair: KeyPair,
  metrics: ServiceMetrics,
  metricsConfig?: { listen: string },
): Promise<Listening> {
  let address: string;
  let endpoint: MetricsEndpoint | undefined;
  try {
    address = (await bindServer(server, listen, keyPair)).address;
    if (metricsConfig) endpoint = await serveMetrics(metrics.registry, metricsConfig.listen);
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return {
    address,
    ...(endpoint ? { metricsAddress: endpoint.address } : {}),
    async stop() {
      await stopServer(server);
      await endpoint?.close();
    },
  };
}
