/**
 * Revocations of this grid, as the auth check needs them: the gateway polls
 * its grid manager's ListRevocations (with its 'gateway' certificate) and
 * refuses revoked clients and admins on every call, not only when their
 * certificate expires (DESIGN.md "Keys, certificates": revocation is checked).
 * The set and the grid manager's cursor live in the gateway's database
 * (libs/grid RevokedSet, loaded before the gateway serves), so a restart
 * never re-admits a revoked key.
 *
 * The grid manager being down is never fatal: the last known set stays in
 * force and the poll is retried, quickly at first, then at its interval.
 * One line is reported per failure streak, not per retry.
 */
import type { Identity } from '../../libs/auth/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { connectGridManager, pollGridRevocations, REVOKED_KEY, type GridManagerConnection, type RevokedSet } from '../../libs/grid/index.js';

export interface RevocationWatchOptions {
  /** Grid manager host:port. */
  address: string;
  /** The grid manager key (the revocation list comes from it). */
  publicKey: Uint8Array;
  identity: Identity;
  /** The persisted set (loaded before the gateway serves). */
  revoked: RevokedSet;
  pollMs: number;
  /** Told once when polling starts failing (and again after a success). */
  onError(err: unknown): void;
}

const FIRST_RETRY_MS = 500;

/** Polls the grid manager's revocations into a set the auth policy consults. */
export class RevocationWatch {
  private readonly manager: GridManagerConnection;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private loaded = false;

  constructor(private readonly opts: RevocationWatchOptions) {
    this.manager = connectGridManager(opts.address, opts.identity, { gridManagerPublicKey: opts.publicKey });
  }

  /** True when the grid manager has revoked `subject`. */
  isRevoked(subject: Uint8Array): boolean {
    return this.opts.revoked.has(REVOKED_KEY, toHex(subject));
  }

  /** True once one poll succeeded. */
  get hasLoaded(): boolean {
    return this.loaded;
  }

  /** Polls now, then every pollMs. */
  start(): void {
    this.schedule(0, FIRST_RETRY_MS);
  }

  /** Fetches revocations since the persisted cursor and stores them before they take effect. */
  async poll(): Promise<void> {
    await pollGridRevocations(this.manager, this.opts.revoked, Date.now());
    this.loaded = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.manager.close();
  }

  private schedule(delay: number, retry: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().then(
        () => {
          this.failing = false;
          this.schedule(this.opts.pollMs, FIRST_RETRY_MS);
        },
        (err: unknown) => {
          if (!this.failing) this.opts.onError(err);
          this.failing = true;
          this.schedule(Math.min(retry, this.opts.pollMs), Math.min(retry * 2, this.opts.pollMs));
        },
      );
    }, delay);
    this.timer.unref();
  }
}
