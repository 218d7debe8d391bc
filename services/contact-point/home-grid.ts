/**
 * The contact point's connection to its own grid, shared by every transfer:
 * one GridSession (its identity, the verified directory, one channel per
 * storage server), opened on first use and replaced in the background once
 * it is older than `refreshMs`, so servers that joined or left the grid are
 * picked up without a restart. A replaced session is closed only when the
 * last transfer using it has released it: a refresh never cuts a download.
 */
import { connectGridAs, type GridConnectionOptions, type GridMember, type GridSession } from '../../libs/client/index.js';
import type { Identity } from '../../libs/auth/index.js';

/** A session in use by one transfer; `release()` exactly once when done. */
export interface GridLease {
  session: GridSession;
  release(): void;
}

export interface HomeGridOptions {
  /** A session older than this is replaced (in the background) on the next acquire. */
  refreshMs: number;
  /** A renewed certificate (base64), to persist. */
  onCertificateRenewed?(certificateBase64: string): void;
  /** A background refresh failed (the previous session stays in use). */
  onRefreshError?(err: unknown): void;
  now?(): number;
  /** Passed to connectGridAs (tests). */
  connect?: GridConnectionOptions;
}

interface Entry {
  session: GridSession;
  openedAt: number;
  users: number;
  retired: boolean;
}

export class HomeGrid {
  private current: Entry | undefined;
  /** The open in progress (first open, or a background refresh). */
  private opening: Promise<Entry> | undefined;
  private closed = false;
  private identity: Identity;

  constructor(
    private readonly member: GridMember,
    private readonly opts: HomeGridOptions,
  ) {
    this.identity = member.identity;
  }

  /** The latest identity (its certificate renewed when it came due). */
  currentIdentity(): Identity {
    return this.identity;
  }

  /**
   * A session for one transfer. Waits only when there is no usable session
   * (first use, or the last open failed); otherwise a due refresh runs in the
   * background and this transfer uses the current session.
   * @throws UnavailableError / AuthenticationError when the grid manager cannot be reached or refuses.
   */
  async acquire(): Promise<GridLease> {
    if (this.closed) throw new Error('home grid connection is closed');
    const now = (this.opts.now ?? Date.now)();
    let entry = this.current;
    if (!entry) {
      entry = await this.open();
    } else if (now - entry.openedAt >= this.opts.refreshMs && !this.opening) {
      this.open().catch((err: unknown) => this.opts.onRefreshError?.(err));
    }
    entry.users++;
    let released = false;
    const e = entry;
    return {
      session: e.session,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        if (e.retired && e.users === 0) e.session.close();
      },
    };
  }

  /** Closes the current session (in-flight transfers keep theirs until released). */
  close(): void {
    this.closed = true;
    if (this.current) this.retire(this.current);
    this.current = undefined;
  }

  private open(): Promise<Entry> {
    this.opening ??= (async () => {
      try {
        const session = await connectGridAs({ ...this.member, identity: this.identity }, { ...this.opts.connect, now: this.opts.now, onCertificateRenewed: this.opts.onCertificateRenewed });
        const entry: Entry = { session, openedAt: (this.opts.now ?? Date.now)(), users: 0, retired: false };
        this.identity = session.identity;
        if (this.closed) {
          session.close();
          throw new Error('home grid connection is closed');
        }
        if (this.current) this.retire(this.current);
        this.current = entry;
        return entry;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    if (entry.users === 0) entry.session.close();
  }
}
