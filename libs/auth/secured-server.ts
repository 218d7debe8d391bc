/**
 * A gRPC server for one service behind the one auth check: how every
 * Intergrid service is served (shared server options, optional interceptors,
 * `secureService` around the handlers), plus grpc.health.v1 and server
 * reflection, which require no signature. Binding stays with the caller.
 */
import * as grpc from '@grpc/grpc-js';
import { SERVER_OPTIONS, operableServer } from '../rpc/index.js';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../metrics/index.js';
import { callerKeyOf, secureService } from './secure-service.js';
import type { AuthPolicy } from './types.js';

export interface SecuredServerOptions {
  /** Server interceptors (tests record requests with them). */
  interceptors?: grpc.ServerInterceptor[];
  /** Extra server options over the shared ones (e.g. a larger send limit). */
  options?: grpc.ServerOptions;
  /** Count, time and measure every call on this registry (libs/metrics). */
  metrics?: ServiceMetrics;
  /** With `metrics`: one JSON line per call {method, caller, status, ms}. */
  logger?: Logger;
}

export function securedServer(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  policy: AuthPolicy,
  opts: SecuredServerOptions = {},
): grpc.Server {
  const secured = secureService(opts.metrics ? opts.metrics.instrument(definition) : definition, implementation, policy);
  const interceptors = [...(opts.metrics ? [opts.metrics.interceptor(opts.logger, callerKeyOf)] : []), ...(opts.interceptors ?? [])];
  // Health, reflection and the drain interceptor (libs/rpc/operations.ts) are added here, outside secureService: unauthenticated.
  const server = operableServer(definition, { ...SERVER_OPTIONS, ...opts.options, ...(interceptors.length > 0 ? { interceptors } : {}) });
  server.addService(secured.definition, secured.implementation);
  return server;
}
