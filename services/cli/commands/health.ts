/**
 * `intergrid health HOST:PORT [--service NAME] [--timeout MS]`: one
 * grpc.health.v1 Check against a running service (every Intergrid service
 * answers it without a signature, libs/rpc/operations.ts). Prints
 * `HOST:PORT SERVING` and exits 0, or one stderr line and exit 1 when the
 * service reports NOT_SERVING (starting or draining), does not know the
 * service name, or does not answer within the deadline. Container health
 * checks (deploy/docker-compose.yml) and load balancers' probes use it.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { listenAddress } from '../../../libs/config/index.js';
import { InvalidArgumentError, UnavailableError } from '../../../libs/errors/index.js';
import { probeClient } from '../../../libs/auth/index.js';
import { deadline } from '../../../libs/rpc/index.js';
import { fromHex } from '../../../libs/crypto/index.js';

export interface HealthOptions {
  /** Health service name; '' (the default) is the server as a whole. */
  service?: string;
  /** Deadline of the whole check in milliseconds (default 5000). */
  timeout?: string;
  /** The service's public key (hex): when given, its TLS certificate must carry it (pinned). */
  key?: string;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 5000;

interface HealthClient extends grpc.Client {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): grpc.ClientUnaryCall;
}

const HealthClientCtor = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');

/**
 * The serving status `address` reports for `service`, over TLS: pinned to
 * `publicKey` when it is known, otherwise unpinned (a health answer carries
 * nothing secret and decides nothing but the probe's exit code).
 * @throws UnavailableError naming the address (no answer in time, unknown service, wrong TLS key, other gRPC errors).
 */
export async function checkHealth(address: string, service = '', timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS, publicKey?: Uint8Array): Promise<string> {
  const client = probeClient<HealthClient>(HealthClientCtor, address, publicKey);
  try {
    return await new Promise<string>((resolve, reject) => {
      client.Check({ service }, { deadline: deadline(timeoutMs) }, (err, res) => {
        if (!err) return resolve(res?.status ?? 'UNKNOWN');
        const what = service === '' ? address : `${address} (service '${service}')`;
        if (err.code === grpc.status.NOT_FOUND) reject(new UnavailableError(`${address} reports no health for service '${service}'`));
        else if (err.code === grpc.status.DEADLINE_EXCEEDED) reject(new UnavailableError(`${what}: no answer within ${timeoutMs} ms`));
        else reject(new UnavailableError(`${what}: ${grpc.status[err.code] ?? err.code} ${err.details.replace(/\s*Resolution note:\s*$/, '')}`));
      });
    });
  } finally {
    client.close();
  }
}

export async function healthCommand(address: string, opts: HealthOptions): Promise<void> {
  if (!listenAddress.safeParse(address).success) throw new InvalidArgumentError(`'${address}' is not host:port`);
  const timeoutMs = opts.timeout === undefined ? DEFAULT_HEALTH_TIMEOUT_MS : Number(opts.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) throw new InvalidArgumentError(`--timeout '${opts.timeout}' must be milliseconds in [1, 600000]`);
  const service = opts.service ?? '';
  if (opts.key !== undefined && !/^[0-9a-f]{64}$/.test(opts.key)) throw new InvalidArgumentError(`--key must be 64 lowercase hex digits (the service's public key)`);
  const status = await checkHealth(address, service, timeoutMs, opts.key === undefined ? undefined : fromHex(opts.key));
  const what = service === '' ? address : `${address} ${service}`;
  if (status !== 'SERVING') throw new UnavailableError(`${what} is ${status}`);
  process.stdout.write(`${what} SERVING\n`);
}
