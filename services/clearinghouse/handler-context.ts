/**
 * What the clearinghouse's RPC handlers need (built by server.ts), and what
 * every handler module checks the same way: an area code field, the
 * contact-point freshness window.
 */
import type { KeyPair } from '../../libs/crypto/index.js';
import { isAreaCode } from '../../libs/caps/index.js';
import { InvalidArgumentError } from '../../libs/errors/index.js';
import type { ClearinghouseConfig } from './config.js';
import type { GridStore } from './grid-store.js';
import type { GridInviteStore } from './grid-invite-store.js';
import type { LedgerStore } from './ledger-store.js';
import type { PeriodStore } from './period-store.js';
import type { RecordOpener } from './verify-pool.js';
import type { SanctionStore } from './sanction-store.js';

/** What the handlers need; built by server.ts. */
export interface ClearinghouseContext {
  config: ClearinghouseConfig;
  key: KeyPair;
  grids: GridStore;
  /** One-time federation invites (a grid joining by code). */
  invites: GridInviteStore;
  /** Billing: usage records, transfers, postings, disputes. */
  ledger: LedgerStore;
  /** Billing: periods and signed statements. */
  periods: PeriodStore;
  /** Billing: verifies reported records. */
  opener: RecordOpener;
  /** Suspensions and revoked gateway approvals, for contact points to poll. */
  sanctions: SanctionStore;
  now(): number;
  /** Called with unexpected errors (sent to the caller as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

/** Contact points registered at or after this time are fresh (Resolve lists them; ListGrids counts them). */
export function freshSince(ctx: ClearinghouseContext, now: number): number {
  return now - ctx.config.contactPointFreshnessMs;
}

/** An area code sent in a request. */
export function areaCodeField(value: string | undefined): string {
  const code: string = value ?? '';
  if (!isAreaCode(code)) throw new InvalidArgumentError(`area code '${(value ?? '').slice(0, 16)}' is not 3–8 decimal digits`);
  return code;
}
