/**
 * How the CLI talks to people: results on stdout, diagnostics on stderr,
 * a one-line error and a non-zero exit code for every failure.
 */
import { IntergridError } from '../../libs/errors/index.js';

/** Exit codes: 1 = operation failed, 2 = bad usage or config, 3 = integrity failure. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof IntergridError) {
    if (err.code === 'CONFIG' || err.code === 'INVALID_ARGUMENT' || err.code === 'CAP_PARSE') return 2;
    if (err.code === 'INTEGRITY') return 3;
  }
  return 1;
}

/**
 * "cannot listen on HOST:PORT: address already in use" for a bind failure
 * (a plain `listen EADDRINUSE` error, or grpc-js's "No address added …
 * errors: [listen EADDRINUSE: address already in use HOST:PORT]").
 */
export function addressInUse(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const m = /EADDRINUSE:? address already in use ([^\s,\]]+)/.exec(err.message);
  if (m) return `cannot listen on ${m[1]}: address already in use`;
  return undefined;
}

export function errorLine(err: unknown): string {
  if (err instanceof IntergridError) return `intergrid: ${err.message}`;
  const inUse = addressInUse(err);
  if (inUse) return `intergrid: ${inUse}`;
  if (err instanceof Error) return `intergrid: unexpected error: ${err.message}`;
  return `intergrid: unexpected error: ${String(err)}`;
}

/** Runs an async command action, turning any error into one stderr line and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(errorLine(err) + '\n');
      if (process.env.INTERGRID_DEBUG && err instanceof Error) process.stderr.write((err.stack ?? '') + '\n');
      process.exitCode = exitCodeFor(err);
    }
  };
}
