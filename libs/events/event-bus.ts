/**
 * EventBus: one grid's NATS JetStream connection for usage events
 * (DESIGN.md "Events inside a grid", docs/events.md).
 *
 * - connect: retries until the first connection succeeds (a NATS outage at
 *   start delays events, it is not fatal), then reconnects forever; ensures
 *   the file-backed stream exists with a duplicate window, so a message
 *   republished with the same msgID within the window is stored once.
 * - publish: waits for the stream's ack; no ack → throws, the caller (an
 *   outbox pump) retries later with the same msgID.
 * - consume: a durable pull consumer with explicit ack; each message's
 *   handler is awaited and the message acked only after it resolved, nak'ed
 *   (redelivered later) when it throws. The loop survives server restarts
 *   and re-creates its consumer if the server lost it.
 */
import { connect as natsConnect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  StorageType,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { UnavailableError, InvalidArgumentError } from '../errors/index.js';
import type { NatsConfig } from './config.js';
import { USAGE_STREAM, USAGE_SUBJECTS } from './subjects.js';

/** Options of EventBus.connect. */
export interface EventBusOptions {
  /** Connection name shown by the server (e.g. 'grid-manager 101'). */
  name?: string;
  /** Aborting stops the first-connection retries (connect rejects with UnavailableError). */
  signal?: AbortSignal;
  /** Delay between first-connection attempts and consumer restarts, ms (default 500). */
  retryMs?: number;
  /** Publish ack timeout, ms (default 5000). */
  publishTimeoutMs?: number;
  /** JetStream duplicate window, ms (default 10 min): a msgID seen within it is stored once. */
  duplicateWindowMs?: number;
  /** Problems the bus recovers from by itself (lost connection, failed handler); default one stderr line. */
  onError?(err: unknown, context: string): void;
}

/** What a consumer handler gets besides the payload. */
export interface DeliveredMessage {
  subject: string;
  /** The stream sequence number. */
  seq: number;
  /** True when the server delivered this message before (not acked in time, nak'ed, or connection lost). */
  redelivered: boolean;
}

/** A message handler: resolve → ack, throw → nak (redelivered later). */
export type EventHandler = (data: Uint8Array, msg: DeliveredMessage) => Promise<void>;

/** Options of EventBus.consume. */
export interface ConsumeOptions {
  /** Messages pulled per request (default 100). */
  batch?: number;
  /** Redelivery delay after a failed handler, ms (default 1000). */
  nakDelayMs?: number;
  /**
   * How long the server waits for an ack before redelivering, ms (default
   * 10 s). A handler running longer keeps its message (working() every third
   * of it); the wait bounds the delay after a consumer died holding messages.
   */
  ackWaitMs?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling; resolves once the handler in progress (if any) finished and was acked. */
  stop(): Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const DURABLE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function defaultOnError(err: unknown, context: string): void {
  process.stderr.write(`events: ${context}: ${err instanceof Error ? err.message : String(err)}\n`);
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export class EventBus {
  private readonly consumers = new Set<RunningConsumer>();
  private closed = false;
  private connected = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    /** The stream name in use. */
    readonly stream: string,
    private readonly opts: Required<Omit<EventBusOptions, 'signal' | 'name'>>,
  ) {
    // Track the connection for isConnected(); the client reconnects by itself.
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') this.connected = true;
      }
    })().catch(() => {});
  }

  /**
   * Connects to the grid's NATS servers and ensures the usage stream exists
   * (file storage, subjects USAGE_SUBJECTS, duplicate window). Retries until
   * it succeeds; once connected, the client reconnects forever.
   * @throws UnavailableError only when `opts.signal` is aborted first.
   */
  static async connect(cfg: NatsConfig, opts: EventBusOptions = {}): Promise<EventBus> {
    const full = {
      retryMs: opts.retryMs ?? 500,
      publishTimeoutMs: opts.publishTimeoutMs ?? 5000,
      duplicateWindowMs: opts.duplicateWindowMs ?? 10 * 60_000,
      onError: opts.onError ?? defaultOnError,
    };
    const stream = cfg.stream ?? USAGE_STREAM;
    let lastErr: unknown;
    let attempt = 0;
    while (!opts.signal?.aborted) {
      let nc: NatsConnection | undefined;
      try {
        // Our own retry loop for the first connection (cancellable by `signal`);
        // after it, the client reconnects forever by itself.
        nc = await natsConnect({
          servers: cfg.servers,
          name: opts.name,
          // The grid's nats-server refuses connections without its user and password.
          ...(cfg.credentials ? { user: cfg.credentials.user, pass: cfg.credentials.password } : {}),
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          waitOnFirstConnect: false,
          // Bounded, so stop() during an outage (a host that drops packets) does not wait 20 s.
          timeout: 5000,
        });
        const jsm = await jetstreamManager(nc);
        await ensureStream(jsm, stream, full.duplicateWindowMs);
        return new EventBus(nc, jetstream(nc), jsm, stream, full);
      } catch (err) {
        lastErr = err;
        await nc?.close().catch(() => {});
        // Report the first failure and then every 20th, so an outage is visible but not noisy.
        if (attempt++ % 20 === 0) {
          const refused = err instanceof Error && /authorization/i.test(err.message);
          full.onError(err, `connecting to ${cfg.servers.join(', ')} (retrying)${refused ? `: the server refused ${cfg.credentials ? `user '${cfg.credentials.user}' (check nats.credentials)` : 'a connection without credentials (set nats.credentials)'}` : ''}`);
        }
        await sleep(full.retryMs, opts.signal);
      }
    }
    throw new UnavailableError(`NATS ${cfg.servers.join(', ')}: gave up connecting (${lastErr instanceof Error ? lastErr.message : 'aborted'})`, {
      cause: lastErr,
    });
  }

  /**
   * Publishes `data` on `subject` with JetStream msgID `msgId` and waits for
   * the stream's ack.
   * @returns duplicate: true when the stream already held a message with this
   *   msgID (within the duplicate window) and did not store it again.
   * @throws UnavailableError when no ack came (disconnected, timeout, no stream).
   */
  async publish(subject: string, data: Uint8Array, msgId: string): Promise<{ duplicate: boolean }> {
    if (typeof msgId !== 'string' || msgId.length === 0 || /\s/.test(msgId)) {
      throw new InvalidArgumentError(`msgId must be a non-empty string without spaces, got '${String(msgId).slice(0, 40)}'`);
    }
    if (this.closed) throw new UnavailableError('event bus is closed');
    try {
      const ack = await this.js.publish(subject, data, { msgID: msgId, timeout: this.opts.publishTimeoutMs });
      return { duplicate: ack.duplicate };
    } catch (err) {
      throw new UnavailableError(`publish ${msgId} on ${subject}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Runs a durable consumer named `durable` on `filterSubject` (created if
   * missing; explicit ack, deliver all). Messages are handled one at a time:
   * ack after `handler` resolved, nak (redelivered after nakDelayMs) when it
   * throws. The loop restarts by itself after server restarts or a lost
   * consumer; stop() ends it.
   * @throws InvalidArgumentError for a bad durable name.
   */
  consume(durable: string, filterSubject: string, handler: EventHandler, opts: ConsumeOptions = {}): RunningConsumer {
    if (!DURABLE_PATTERN.test(durable)) throw new InvalidArgumentError(`durable name '${durable.slice(0, 40)}' must be 1-64 of [A-Za-z0-9_-]`);
    const batch = opts.batch ?? 100;
    const nakDelayMs = opts.nakDelayMs ?? 1000;
    const ackWaitMs = opts.ackWaitMs ?? 10_000;
    const abort = new AbortController();
    let current: ConsumerMessages | undefined;
    const loop = (async () => {
      while (!abort.signal.aborted) {
        try {
          await this.ensureConsumer(durable, filterSubject, ackWaitMs);
          const consumer = await this.js.consumers.get(this.stream, durable);
          if (abort.signal.aborted) break;
          current = await consumer.consume({ max_messages: batch });
          for await (const m of current) {
            // After stop(), the messages already pulled are still yielded:
            // hand them back at once (nak) instead of leaving them to ack_wait.
            if (abort.signal.aborted) {
              m.nak();
              continue;
            }
            // A slow handler (database busy) tells the server it is still working,
            // so the message is not redelivered to someone else meanwhile.
            const working = setInterval(() => m.working(), Math.max(100, Math.floor(ackWaitMs / 3)));
            try {
              await handler(m.data, { subject: m.subject, seq: m.seq, redelivered: m.redelivered });
              m.ack();
            } catch (err) {
              this.opts.onError(err, `${durable}: handling message ${m.seq} (redelivered later)`);
              m.nak(nakDelayMs);
            } finally {
              clearInterval(working);
            }
          }
        } catch (err) {
          if (!abort.signal.aborted) this.opts.onError(err, `${durable}: consumer stopped (restarting)`);
        } finally {
          current?.stop();
          current = undefined;
        }
        await sleep(this.opts.retryMs, abort.signal);
      }
    })();
    const running: RunningConsumer = {
      stop: async () => {
        abort.abort();
        current?.stop();
        await loop;
        this.consumers.delete(running);
      },
    };
    this.consumers.add(running);
    return running;
  }

  /** True while connected (false while the client reconnects). */
  isConnected(): boolean {
    return this.connected && !this.closed && !this.nc.isClosed();
  }

  /** Stops every consumer, flushes pending acks (briefly) and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    // Flush acks if connected; a flush during an outage would wait for the reconnect, so bound it.
    await Promise.race([this.nc.flush().catch(() => {}), sleep(1000)]);
    await this.nc.close().catch(() => {});
  }

  private async ensureConsumer(durable: string, filterSubject: string, ackWaitMs: number): Promise<void> {
    try {
      await this.jsm.consumers.info(this.stream, durable);
      return;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await this.jsm.consumers.add(this.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filterSubject,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 1000,
    });
  }
}

/** Creates the stream when missing; an existing stream is left as it is (its subjects are checked). */
async function ensureStream(jsm: JetStreamManager, stream: string, duplicateWindowMs: number): Promise<void> {
  try {
    const info = await jsm.streams.info(stream);
    if (!info.config.subjects?.includes(USAGE_SUBJECTS)) {
      await jsm.streams.update(stream, { subjects: [...(info.config.subjects ?? []), USAGE_SUBJECTS] });
    }
    return;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  await jsm.streams.add({
    name: stream,
    subjects: [USAGE_SUBJECTS],
    storage: StorageType.File,
    duplicate_window: nanos(duplicateWindowMs),
  });
}
