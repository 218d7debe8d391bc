/**
 * What the grid manager's RPC handlers need (built by server.ts), and the
 * certificate issuer every handler module derives from it.
 */
import type { KeyPair } from '../../libs/crypto/index.js';
import type { GridManagerConfig } from './config.js';
import type { GridIssuer } from './grid-certificate.js';
import type { PrincipalStore } from './principal-store.js';
import type { InviteStore } from './invite-store.js';
import type { RevocationLog } from './revocation-log.js';
import type { ServerAnnouncements } from './server-announcements.js';
import type { UsageStore } from './usage-store.js';
import type { TransferTallyStore } from './transfer-tally-store.js';
import type { StatementStore } from './statement-store.js';
import type { WatchStore } from './watch-store.js';

export interface GridManagerContext {
  config: GridManagerConfig;
  gridKey: KeyPair;
  principals: PrincipalStore;
  invites: InviteStore;
  revocations: RevocationLog;
  /** Storage servers' announced addresses (the directory's source). */
  servers: ServerAnnouncements;
  usage: UsageStore;
  /** Long-distance transfers per (account, remote area), from NATS usage events. */
  transfers: TransferTallyStore;
  /** Settlement statements fetched from the clearinghouse and verified (statement-sync.ts). */
  statements: StatementStore;
  /** Files the repairer keeps alive (repair-loop.ts). */
  watched: WatchStore;
  /** Asks the repairer to look for due files now (after WatchFile). */
  wakeRepairer(): void;
  /**
   * Fetches new statements from the clearinghouse now, if one is configured
   * (before ListStatements answers); never throws, gives up after a bound.
   */
  refreshStatements(): Promise<void>;
  now(): number;
  /** Called with unexpected errors (sent to the caller as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

/** The grid's certificate issuer (its key, area code and lifetimes). */
export function gridIssuer(ctx: GridManagerContext): GridIssuer {
  return { gridKey: ctx.gridKey, areaCode: ctx.config.areaCode, lifetimes: ctx.config.certificateLifetimes };
}
