/**
 * Per-service Prometheus metrics (prom-client) and one structured log line per
 * gRPC call (pino). `securedServer` instruments every service with these when
 * given a `ServiceMetrics`: request counts by method and status code, latency
 * histograms, and exact message bytes in/out (counted in the method's
 * deserializer/serializer, i.e. the serialized protobuf bytes that crossed
 * the wire). Services register their own gauges/counters on `registry`.
 *
 * The log line holds only {method, caller, status, ms}: `caller` is the short
 * form of the verified principal's public key (or '-'); request fields, keys,
 * read-caps and secrets are never logged here.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';

/** Health and reflection calls are neither counted nor logged (load balancers poll them). */
const OPERATIONS_PREFIXES = ['/grpc.health.v1.', '/grpc.reflection.'];

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServiceMetrics {
  /** This service's registry: what /metrics serves. */
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'code'>;
  readonly latency: Histogram<'method' | 'code'>;
  readonly bytesIn: Counter<'method'>;
  readonly bytesOut: Counter<'method'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'intergrid_rpc_requests_total', help: 'gRPC calls handled, by method and status code', labelNames: ['method', 'code'], registers });
    this.latency = new Histogram({ name: 'intergrid_rpc_duration_seconds', help: 'gRPC call duration from first metadata to status', labelNames: ['method', 'code'], buckets: LATENCY_BUCKETS, registers });
    this.bytesIn = new Counter({ name: 'intergrid_rpc_received_bytes_total', help: 'Serialized request message bytes received', labelNames: ['method'], registers });
    this.bytesOut = new Counter({ name: 'intergrid_rpc_sent_bytes_total', help: 'Serialized response message bytes sent', labelNames: ['method'], registers });
  }

  /** A gauge on this registry whose value is read at scrape time. */
  gauge(name: string, help: string, read: () => number | Promise<number>): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /**
   * A gauge with one label whose values are read at scrape time: `read`
   * returns value per label value; label values it omits are dropped.
   */
  labelledGauge(name: string, help: string, label: string, read: () => Record<string, number> | Promise<Record<string, number>>): Gauge<string> {
    return new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        const values = await read();
        this.reset();
        for (const [value, n] of Object.entries(values)) this.labels(value).set(n);
      },
    });
  }

  /** A counter on this registry. */
  counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  /** A counter with one label on this registry (e.g. `reason`). */
  labelledCounter(name: string, help: string, label: string): Counter<string> {
    return new Counter({ name, help, labelNames: [label], registers: [this.registry] });
  }

  /** `definition` with each method's (de)serializer counting message bytes. */
  instrument(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
    const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [name, attrs] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
      const method = methodName(attrs.path);
      const inC = this.bytesIn.labels(method);
      const outC = this.bytesOut.labels(method);
      out[name] = {
        ...attrs,
        requestDeserialize: (bytes: Buffer) => {
          inC.inc(bytes.length);
          return attrs.requestDeserialize(bytes);
        },
        responseSerialize: (value: unknown) => {
          const bytes = attrs.responseSerialize(value);
          outC.inc(bytes.length);
          return bytes;
        },
      };
    }
    return out as grpc.ServiceDefinition;
  }

  /**
   * Counts, times and logs every call. `callerOf` maps the call's metadata to
   * the verified caller's short key once the auth check ran (undefined before
   * or when it failed).
   */
  interceptor(logger: Logger | undefined, callerOf: (metadata: grpc.Metadata) => string | undefined): grpc.ServerInterceptor {
    return (descriptor, call) => {
      if (OPERATIONS_PREFIXES.some((p) => descriptor.path.startsWith(p))) return new grpc.ServerInterceptingCall(call);
      const method = methodName(descriptor.path);
      const started = process.hrtime.bigint();
      let metadata: grpc.Metadata | undefined;
      let done = false;
      const finish = (code: grpc.status): void => {
        if (done) return;
        done = true;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const codeName = grpc.status[code] ?? String(code);
        this.requests.labels(method, codeName).inc();
        this.latency.labels(method, codeName).observe(seconds);
        const caller = (metadata && callerOf(metadata)) ?? '-';
        logger?.info({ method, caller, status: codeName, ms: Math.round(seconds * 1e6) / 1e3 }, 'rpc');
      };
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next(
            new grpc.ServerListenerBuilder()
              .withOnReceiveMetadata((md, nextMd) => {
                metadata = md;
                nextMd(md);
              })
              .withOnCancel(() => finish(grpc.status.CANCELLED))
              .build(),
          ),
        sendStatus: (status, next) => {
          finish(status.code);
          next(status);
        },
      });
    };
  }
}

/** 'Storage/ReadShare' from '/intergrid.storage.Storage/ReadShare'. */
function methodName(path: string): string {
  const service = path.slice(1, path.lastIndexOf('/'));
  return `${service.slice(service.lastIndexOf('.') + 1)}/${path.slice(path.lastIndexOf('/') + 1)}`;
}

export interface MetricsEndpoint {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  close(): Promise<void>;
}

/** Serves `registry` as Prometheus text at GET /metrics on `listen` ('host:port', port 0 = any free port). */
export async function serveMetrics(registry: Registry, listen: string): Promise<MetricsEndpoint> {
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  return {
    address: `${host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
