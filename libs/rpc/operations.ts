/**
 * What every Intergrid gRPC server answers besides its own service, and how it
 * drains: grpc.health.v1 (grpc-health-check) for the service name '' and the
 * service's full name, server reflection (@grpc/reflection) over the proto
 * package the service comes from, and a lifecycle interceptor that counts
 * in-flight calls and refuses new ones (UNAVAILABLE 'draining') once
 * `stopServer` began. Health and reflection are never counted nor refused, and
 * they sit outside the auth check (load balancers call them unauthenticated).
 *
 * State lives per grpc.Server in a WeakMap, so `bindServer` (→ SERVING) and
 * `stopServer` (→ NOT_SERVING, drain) work for every server built this way
 * without changes to the services.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { packageDefinitionOf } from './proto.js';

/** Methods of these services are exempt from drain refusal and in-flight counting. */
const OPERATIONS_PREFIXES = ['/grpc.health.v1.', '/grpc.reflection.'];

interface Lifecycle {
  health: HealthImplementation;
  /** Health service names this server reports ('' and the service's full name). */
  names: string[];
  draining: boolean;
  inFlight: number;
  /** Resolvers waiting for inFlight to reach 0. */
  idle: Array<() => void>;
}

const lifecycles = new WeakMap<grpc.Server, Lifecycle>();

/** 'intergrid.storage.Storage' from a definition's method paths ('/intergrid.storage.Storage/Put'). */
export function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('service definition without methods');
  return first.path.slice(1, first.path.lastIndexOf('/'));
}

function lifecycleInterceptor(state: Lifecycle): grpc.ServerInterceptor {
  return (method, call) => {
    if (OPERATIONS_PREFIXES.some((p) => method.path.startsWith(p))) return new grpc.ServerInterceptingCall(call);
    if (state.draining) {
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next(
            new grpc.ServerListenerBuilder()
              .withOnReceiveMetadata(() => call.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'draining', metadata: new grpc.Metadata() }))
              .withOnReceiveMessage(() => undefined)
              .withOnReceiveHalfClose(() => undefined)
              .build(),
          ),
      });
    }
    state.inFlight++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      state.inFlight--;
      if (state.inFlight === 0) for (const resolve of state.idle.splice(0)) resolve();
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next(new grpc.ServerListenerBuilder().withOnCancel(finish).build()),
      sendStatus: (status, next) => {
        finish();
        next(status);
      },
    });
  };
}

/**
 * A grpc.Server for the service `definition` with the lifecycle interceptor
 * first (before `options.interceptors`), health (NOT_SERVING until
 * `bindServer`) and reflection added. The caller adds the service itself.
 */
export function operableServer(definition: grpc.ServiceDefinition, options: grpc.ServerOptions = {}): grpc.Server {
  const serviceName = serviceNameOf(definition);
  const names = ['', serviceName];
  const state: Lifecycle = {
    health: new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING']))),
    names,
    draining: false,
    inFlight: 0,
    idle: [],
  };
  const interceptors = [lifecycleInterceptor(state), ...(options.interceptors ?? [])];
  const server = new grpc.Server({ ...options, interceptors });
  state.health.addToServer(server);
  const pkg = packageDefinitionOf(serviceName);
  if (pkg) new ReflectionService(pkg, { services: [serviceName] }).addToServer(server);
  lifecycles.set(server, state);
  return server;
}

/** Sets the health status of every name the server reports; no-op for servers not built by operableServer. */
export function setServing(server: grpc.Server, serving: boolean): void {
  const state = lifecycles.get(server);
  if (!state) return;
  for (const n of state.names) state.health.setStatus(n, serving ? 'SERVING' : 'NOT_SERVING');
}

/**
 * Begins the drain: NOT_SERVING, new calls refused. Resolves when no call is in
 * flight (at once for servers not built by operableServer).
 */
export function beginDrain(server: grpc.Server): Promise<void> {
  const state = lifecycles.get(server);
  if (!state) return Promise.resolve();
  setServing(server, false);
  state.draining = true;
  if (state.inFlight === 0) return Promise.resolve();
  return new Promise((resolve) => state.idle.push(resolve));
}

/** Calls currently in flight (health and reflection not counted). */
export function inFlightCalls(server: grpc.Server): number {
  return lifecycles.get(server)?.inFlight ?? 0;
}
