/**
 * The storage server's link to its grid manager: AnnounceServer (at start
 * and periodically, so the signed directory lists us), ListRevocations
 * polling into the revoked set the auth check consults (persisted in the
 * storage server's database with its cursor, libs/grid RevokedSet, so a
 * restart never re-admits a revoked key), and ReportUsage per account. The grid manager being down is never fatal: every failure is
 * logged and the task retried (quickly at first, then at its interval).
 */
import type { Logger } from 'pino';
import type { Identity } from '../../libs/auth/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { connectGridManager, pollGridRevocations, REVOKED_KEY, type GridManagerConnection, type RevokedSet } from '../../libs/grid/index.js';
import type { AccountUsage } from './metadata-store.js';

export interface GridLinkOptions {
  /** Grid manager host:port. */
  managerAddress: string;
  /** Our key pair and storage-server certificate. */
  identity: Identity;
  announceIntervalMs: number;
  revocationPollMs: number;
  usageReportIntervalMs: number;
  /** The revoked keys, loaded from the database before the server serves. */
  revoked: RevokedSet;
  /** Current per-account usage (from the metadata store). */
  usage(): Promise<AccountUsage[]>;
  logger: Logger;
}

/** First retry delay after a failure; doubles up to the task's interval. */
const FIRST_RETRY_MS = 500;

export class GridLink {
  private readonly manager: GridManagerConnection;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;
  private revocationsLoaded = false;
  private ourAddress = '';

  constructor(private readonly opts: GridLinkOptions) {
    this.manager = connectGridManager(opts.managerAddress, opts.identity);
  }

  /** Revocation check for the auth policy (subjects learnt from the grid manager). */
  isRevoked(subject: Uint8Array): boolean {
    return this.opts.revoked.has(REVOKED_KEY, toHex(subject));
  }

  /** True once one ListRevocations poll succeeded. */
  get hasRevocations(): boolean {
    return this.revocationsLoaded;
  }

  /** Starts the three periodic tasks (announce and revocations run at once) announcing `ourAddress` (host:port). */
  start(ourAddress: string): void {
    this.ourAddress = ourAddress;
    this.schedule('announce', () => this.announce(), this.opts.announceIntervalMs, 0);
    this.schedule('revocations', () => this.pollRevocations(), this.opts.revocationPollMs, 0);
    this.schedule('usage', () => this.reportUsage(), this.opts.usageReportIntervalMs, this.opts.usageReportIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    this.manager.close();
  }

  /** Tells the grid manager where we serve. */
  async announce(): Promise<void> {
    await this.manager.announceServer(this.ourAddress);
  }

  /** Fetches revocations since the persisted cursor and stores them before they take effect. */
  async pollRevocations(): Promise<void> {
    await pollGridRevocations(this.manager, this.opts.revoked, Date.now());
    this.revocationsLoaded = true;
  }

  /** Reports bytes and shares held per account. */
  async reportUsage(): Promise<void> {
    const at = Date.now();
    const accounts = await this.opts.usage();
    const reportId = `${toHex(this.opts.identity.keyPair.publicKey)}:${at}`;
    await this.manager.reportUsage({
      reportId,
      atMs: at,
      accounts: accounts.map((a) => ({ account: fromHex(a.account), bytesStored: a.storedBytes, shares: a.shares })),
    });
  }

  /** Runs `task` after `firstDelay`, then every `interval`; after a failure retries sooner with backoff. */
  private schedule(name: string, task: () => Promise<void>, interval: number, firstDelay: number): void {
    let retry = FIRST_RETRY_MS;
    const runOnce = (delay: number): void => {
      if (this.stopped) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const p = task().then(
          () => {
            retry = FIRST_RETRY_MS;
            runOnce(interval);
          },
          (err: unknown) => {
            this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), task: name }, 'grid manager call failed; will retry');
            const wait = Math.min(retry, interval);
            retry = Math.min(retry * 2, interval);
            runOnce(wait);
          },
        );
        this.running.add(p);
        void p.finally(() => this.running.delete(p));
      }, delay);
      timer.unref();
      this.timers.add(timer);
    };
    runOnce(firstDelay);
  }
}
