/**
 * The pump: sends one channel of an outbox until every message is
 * acknowledged. Each pass takes the due messages (oldest first, up to
 * `batchSize`) and hands them to `send`, which says which ones the receiver
 * acknowledged (`done`) and which it refused for good (`rejected`). The rest
 * failed: each is retried after its own exponential backoff. A throwing
 * `send` fails the whole batch. Messages older than `giveUpAfterMs` (when
 * set) are marked expired instead of being sent again.
 *
 * Delivery is at-least-once: a crash between the receiver's ack and
 * markSent sends the message again, and the receiver dedupes on its id.
 */
import { Outbox, type OutboxRow } from './outbox-table.js';

/** What the receiver made of a batch. Ids in neither list are retried. */
export interface SendResult {
  done: string[];
  rejected?: { id: string; reason: string }[];
}

export type SendFn = (rows: OutboxRow[]) => Promise<SendResult>;

export interface PumpOptions {
  /** Most messages per send call. Default 100. */
  batchSize?: number;
  /** Look for new messages at least this often when idle (ms); `wake()` looks at once. Default 1000. */
  pollMs?: number;
  /** First retry delay (ms), doubled per failed attempt up to maxBackoffMs. Defaults 250 / 30 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up on a message this old (ms since it was added); default never. */
  giveUpAfterMs?: number;
  /** A failed batch (error or messages neither done nor rejected); default: ignored. */
  onError?(err: unknown, rows: OutboxRow[]): void;
  /** A message the receiver refused or that expired. */
  onDropped?(row: OutboxRow, state: 'rejected' | 'expired', reason: string): void;
  now?(): number;
}

export interface OutboxPump {
  /** Look for due messages now (call after adding some). */
  wake(): void;
  /** Resolves once no message of the channel is pending (sent, rejected or expired). */
  drained(): Promise<void>;
  /** Stops after the current send; resolves when the pump has stopped. */
  stop(): Promise<void>;
}

/**
 * Starts pumping `channel` of `outbox` through `send`.
 * @example const pump = startOutboxPump(outbox, 'clearinghouse', reportToClearinghouse, { onError: log })
 */
export function startOutboxPump(outbox: Outbox, channel: string, send: SendFn, opts: PumpOptions = {}): OutboxPump {
  const batchSize = opts.batchSize ?? 100;
  const pollMs = opts.pollMs ?? 1000;
  const minBackoff = opts.minBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const now = opts.now ?? Date.now;
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  let drainedWaiters: (() => void)[] = [];

  const backoff = (attempts: number): number => Math.min(maxBackoff, minBackoff * 2 ** Math.min(attempts, 20));

  function sleep(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function pass(): Promise<boolean> {
    const rows = await outbox.due(channel, batchSize);
    if (rows.length === 0) return false;
    const t = now();
    const live: OutboxRow[] = [];
    for (const row of rows) {
      if (opts.giveUpAfterMs !== undefined && t - row.createdAtMs > opts.giveUpAfterMs) {
        const reason = `gave up after ${row.attempts} attempts in ${Math.round((t - row.createdAtMs) / 1000)} s: ${row.lastError ?? 'no error recorded'}`;
        await outbox.markExpired(row.id, reason);
        opts.onDropped?.(row, 'expired', reason);
      } else {
        live.push(row);
      }
    }
    if (live.length === 0) return true;
    let result: SendResult;
    try {
      result = await send(live);
    } catch (err) {
      opts.onError?.(err, live);
      const message = err instanceof Error ? err.message : String(err);
      for (const row of live) await outbox.markFailed(row.id, message, now() + backoff(row.attempts));
      return false;
    }
    const done = new Set(result.done);
    await outbox.markSent([...done]);
    const rejected = new Map((result.rejected ?? []).map((r) => [r.id, r.reason]));
    const failed: OutboxRow[] = [];
    for (const row of live) {
      const reason = rejected.get(row.id);
      if (reason !== undefined && !done.has(row.id)) {
        await outbox.markRejected(row.id, reason);
        opts.onDropped?.(row, 'rejected', reason);
      } else if (!done.has(row.id)) {
        failed.push(row);
        await outbox.markFailed(row.id, 'not acknowledged', now() + backoff(row.attempts));
      }
    }
    if (failed.length > 0) opts.onError?.(new Error(`${failed.length} of ${live.length} messages not acknowledged`), failed);
    return failed.length < live.length;
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let progressed = false;
      try {
        progressed = await pass();
      } catch (err) {
        // The outbox table itself failed (e.g. the database is closing): try again later.
        opts.onError?.(err, []);
      }
      if (stopped) break;
      if (progressed) continue;
      let next: number | null;
      try {
        next = await outbox.nextDueAt(channel);
      } catch {
        next = now() + pollMs;
      }
      if (next === null && drainedWaiters.length > 0) {
        const waiters = drainedWaiters;
        drainedWaiters = [];
        for (const w of waiters) w();
      }
      await sleep(next === null ? pollMs : Math.min(pollMs, next - now()));
    }
  }

  const running = loop();
  return {
    wake() {
      if (wakeUp) wakeUp();
      else woken = true;
    },
    drained() {
      return new Promise((resolve) => {
        drainedWaiters.push(resolve);
        if (wakeUp) wakeUp();
        else woken = true;
      });
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await running;
      for (const w of drainedWaiters) w();
      drainedWaiters = [];
    },
  };
}
