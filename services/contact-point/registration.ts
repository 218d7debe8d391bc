/**
 * Keeps this contact point listed at the clearinghouse: RegisterContactPoint
 * at start and every `intervalMs` (the clearinghouse lists only contact
 * points that registered recently, so the period doubles as a heartbeat).
 * A failure is logged and retried on the next tick, never fatal: a
 * clearinghouse outage must not take a grid's contact points down with it.
 * On stop, a best-effort DeregisterContactPoint removes it from resolutions
 * at once instead of when its registration goes stale.
 */
import type { Logger } from 'pino';
import type { Identity } from '../../libs/auth/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../libs/federation/index.js';

export interface RegistrationOptions {
  clearinghouse: { address: string; publicKey: Uint8Array };
  /** The address gateways should call. */
  address: string;
  /** The current identity (its contact-point certificate may be renewed while running). */
  identity(): Identity;
  intervalMs: number;
  logger: Logger;
  /** Per-call deadline (default 10 s). */
  deadlineMs?: number;
}

/** The registration loop, as the running contact point exposes it. */
export interface Registration {
  /** Unix ms of the last successful registration (undefined: none yet). */
  readonly lastSuccessMs: number | undefined;
  /** Message of the last failure, cleared by a success. */
  readonly lastError: string | undefined;
  /** Registers now (also what the timer does). Never throws. */
  registerNow(): Promise<boolean>;
  /** Stops the timer and deregisters (best effort, bounded by the deadline). */
  stop(): Promise<void>;
}

/** Starts registering now and every `intervalMs`. */
export function startRegistration(opts: RegistrationOptions): Registration {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const conn: ClearinghouseConnection = connectClearinghouse(opts.clearinghouse.address, () => opts.identity(), {
    clearinghousePublicKey: opts.clearinghouse.publicKey,
    deadlineMs,
  });
  let lastSuccessMs: number | undefined;
  let lastError: string | undefined;
  let inFlight: Promise<boolean> | undefined;
  let stopped = false;
  let failures = 0;

  const registerNow = (): Promise<boolean> => {
    inFlight ??= (async () => {
      try {
        await conn.registerContactPoint(opts.address);
        if (lastError !== undefined || lastSuccessMs === undefined) opts.logger.info({ address: opts.address }, 'registered at the clearinghouse');
        lastSuccessMs = Date.now();
        lastError = undefined;
        failures = 0;
        return true;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        // Log the first failure and then every tenth, so an outage does not flood the log.
        if (failures++ % 10 === 0) opts.logger.warn({ error: lastError, clearinghouse: opts.clearinghouse.address }, 'registration at the clearinghouse failed; will retry');
        return false;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  void registerNow();
  const timer = setInterval(() => {
    if (!stopped) void registerNow();
  }, opts.intervalMs);
  timer.unref();

  return {
    get lastSuccessMs() {
      return lastSuccessMs;
    },
    get lastError() {
      return lastError;
    },
    registerNow,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inFlight?.catch(() => undefined);
      if (lastSuccessMs !== undefined) {
        await conn.deregisterContactPoint().catch((err: unknown) => {
          opts.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'deregistration at the clearinghouse failed');
        });
      }
      conn.close();
    },
  };
}
