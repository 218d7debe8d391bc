/**
 * The web server's connection to its home grid. A GridConnection is a
 * snapshot of the signed directory, so a long-running server reopens it
 * (a fresh directory, a renewed certificate when due) once it is older than
 * `maxAgeMs`, or at once when a request failed for want of servers;
 * requests in flight keep the one they started with, and it is closed when
 * the last of them ends.
 */
import type { GridConnection } from '../../libs/client/index.js';
import { isIntergridError, type ErrorCode } from '../../libs/errors/index.js';

/** Failures a fresh directory may cure: servers that moved did not answer, so too few took or gave shares. */
const STALE_DIRECTORY_CODES: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'HAPPINESS', 'NOT_ENOUGH_SHARES', 'NOT_FOUND']);

interface Entry {
  conn: Promise<GridConnection>;
  openedAt: number;
  users: number;
  retired: boolean;
}

export class ClientSessions {
  private current: Entry | undefined;
  private closed = false;

  constructor(
    private readonly open: () => Promise<GridConnection>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs `fn` with a connection that is at most `maxAgeMs` old when handed
   * out. When it fails because servers did not answer or were too few, the
   * connection's directory may be stale (servers restarted elsewhere): it is
   * retired, and `fn` runs once more on a fresh one if `mayRetry(err)` says
   * nothing was sent yet.
   */
  async use<T>(fn: (conn: GridConnection) => Promise<T>, mayRetry: (err: unknown) => boolean = () => false): Promise<T> {
    try {
      return await this.once(fn);
    } catch (err) {
      if (!isIntergridError(err) || !STALE_DIRECTORY_CODES.has(err.code) || this.closed) throw err;
      if (this.current) this.retire(this.current);
      this.current = undefined;
      if (!mayRetry(err)) throw err;
      return this.once(fn);
    }
  }

  private async once<T>(fn: (conn: GridConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('the web server is closing');
    const entry = this.entry();
    entry.users++;
    try {
      return await fn(await entry.conn);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) void close(entry);
    }
  }

  /** Closes every connection once its requests have ended. */
  close(): void {
    this.closed = true;
    if (this.current) this.retire(this.current);
    this.current = undefined;
  }

  private entry(): Entry {
    const cur = this.current;
    if (cur && this.now() - cur.openedAt < this.maxAgeMs) return cur;
    if (cur) this.retire(cur);
    const conn = this.open();
    const entry: Entry = { conn, openedAt: this.now(), users: 0, retired: false };
    // A failed open is the requests' error; the next request tries again.
    conn.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    this.current = entry;
    return entry;
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    if (entry.users === 0) void close(entry);
  }
}

async function close(entry: Entry): Promise<void> {
  try {
    (await entry.conn).close();
  } catch {
    /* it never opened */
  }
}
