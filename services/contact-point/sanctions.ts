/**
 * What the clearinghouse refused, as this contact point enforces it: grids
 * suspended (their gateways are refused FetchSegments, naming the grid) and
 * gateway approvals revoked (the key is refused on every call, through the
 * auth policy's isRevoked). The contact point polls the clearinghouse's
 * ListSanctions from its cursor; the set and the cursor are kept in its own
 * database (libs/grid RevokedSet, loaded before it serves), so a restart
 * never re-admits a suspended grid's gateway or a revoked key, and a change
 * is persisted before it takes effect.
 *
 * The clearinghouse being down is never fatal: the last known sanctions stay
 * in force and the poll is retried at its interval.
 */
import type { Logger } from 'pino';
import type { Identity } from '../../libs/auth/index.js';
import { shortKey, toHex } from '../../libs/crypto/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../libs/federation/index.js';
import type { RevokedChange, RevokedSet } from '../../libs/grid/index.js';

/** RevokedSet kinds. */
export const SUSPENDED_GRID = 'grid';
export const REVOKED_GATEWAY = 'gateway';
/** Most pages read in one poll (1000 sanctions each). */
const MAX_PAGES = 100;

export interface SanctionsWatchOptions {
  clearinghouse: { address: string; publicKey: Uint8Array };
  /** Our identity (the renewed one, when renewed). */
  identity(): Identity;
  set: RevokedSet;
  pollMs: number;
  logger: Logger;
}

export class SanctionsWatch {
  private readonly conn: ClearinghouseConnection;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private polled = false;

  constructor(private readonly opts: SanctionsWatchOptions) {
    this.conn = connectClearinghouse(opts.clearinghouse.address, () => opts.identity(), { clearinghousePublicKey: opts.clearinghouse.publicKey });
  }

  /** True when the clearinghouse suspended `areaCode` (as last learnt). */
  isGridSuspended(areaCode: string): boolean {
    return this.opts.set.has(SUSPENDED_GRID, areaCode);
  }

  /** True when the clearinghouse revoked the approvals of `gatewayKey`. */
  isGatewayRevoked(gatewayKey: Uint8Array): boolean {
    return this.opts.set.has(REVOKED_GATEWAY, toHex(gatewayKey));
  }

  /** True once one poll succeeded since start. */
  get hasPolled(): boolean {
    return this.polled;
  }

  /** The clearinghouse's sequence number applied so far. */
  get sinceSeq(): number {
    return this.opts.set.sinceSeq;
  }

  /** Polls now, then every pollMs. */
  start(): void {
    this.schedule(0);
  }

  /** Reads every sanction after the cursor (page by page, each persisted before it takes effect). */
  async poll(): Promise<void> {
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.conn.listSanctions(this.opts.set.sinceSeq);
      const changes: RevokedChange[] = [];
      let last = this.opts.set.sinceSeq;
      for (const s of res.sanctions) {
        last = Math.max(last, s.seq);
        if (s.kind === 'revoke-gateway' && s.gatewayPublicKey) changes.push({ kind: REVOKED_GATEWAY, value: toHex(s.gatewayPublicKey), present: true });
        else if (s.kind === 'suspend' || s.kind === 'reinstate') changes.push({ kind: SUSPENDED_GRID, value: s.areaCode, present: s.kind === 'suspend' });
        this.log(s.kind, s.areaCode, s.gatewayPublicKey);
      }
      // While more pages follow, the cursor moves to the last entry read, never past an unread one.
      await this.opts.set.apply(changes, res.more ? last : Math.max(last, res.latestSeq), Date.now());
      if (!res.more) break;
    }
    this.polled = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.conn.close();
  }

  private log(kind: string, areaCode: string, key: Uint8Array | undefined): void {
    if (kind === 'revoke-gateway') this.opts.logger.warn({ gateway: key ? shortKey(key) : '?', areaCode }, 'clearinghouse revoked a gateway approval: refusing it');
    else this.opts.logger.warn({ areaCode }, kind === 'suspend' ? 'clearinghouse suspended a grid: refusing its gateways' : 'clearinghouse reinstated a grid');
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().then(
        () => {
          if (this.failing) this.opts.logger.info({ clearinghouse: this.opts.clearinghouse.address }, 'sanctions poll at the clearinghouse works again');
          this.failing = false;
          this.schedule(this.opts.pollMs);
        },
        (err: unknown) => {
          if (!this.failing) this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), clearinghouse: this.opts.clearinghouse.address }, 'sanctions poll at the clearinghouse failed; the last known sanctions stay in force (will retry)');
          this.failing = true;
          this.schedule(this.opts.pollMs);
        },
      );
    }, delay);
    this.timer.unref();
  }
}
