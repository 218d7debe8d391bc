/**
 * The grid manager's statement poll: every `statementPollMs` it asks the
 * clearinghouse for closed periods it has not stored yet and stores the
 * verified statements (statement-sync.ts). It calls as the grid itself: a
 * short-lived 'admin' certificate the grid key issues to itself, which the
 * clearinghouse accepts from an admitted grid's manager for that grid only.
 * Failures (clearinghouse down, a refused statement) are logged and tried
 * again at the next poll; they never stop the grid manager.
 */
import type { Identity } from '../../libs/auth/index.js';
import { fromHex, type KeyPair } from '../../libs/crypto/index.js';
import { connectLedger } from '../../libs/federation/index.js';
import type { GridManagerConfig } from './config.js';
import { issueGridCertificate } from './grid-certificate.js';
import type { StatementStore } from './statement-store.js';
import { syncStatements, type StatementSyncResult } from './statement-sync.js';

/** Lifetime of the self-issued certificate (re-issued for every poll). */
const SELF_CERTIFICATE_MS = 10 * 60_000;

export interface StatementPollerDeps {
  config: GridManagerConfig & { clearinghouse: NonNullable<GridManagerConfig['clearinghouse']> };
  gridKey: KeyPair;
  store: StatementStore;
  now(): number;
  log(message: string): void;
  onSync?(result: StatementSyncResult): void;
}

export interface StatementPoller {
  /**
   * Polls now (after a poll in progress, so what it sees is at least as new
   * as this call); resolves with what was stored and refused.
   * @throws when the clearinghouse cannot be asked, or the poller is stopped.
   */
  syncNow(): Promise<StatementSyncResult>;
  stop(): Promise<void>;
}

/** Starts polling (the first poll after one interval; syncNow() polls at once). */
export function startStatementPoller(deps: StatementPollerDeps): StatementPoller {
  const { config, gridKey } = deps;
  const identity = (): Identity => ({
    keyPair: gridKey,
    certificates: [
      issueGridCertificate(
        { gridKey, areaCode: config.areaCode, lifetimes: config.certificateLifetimes },
        deps.now(),
        { subject: gridKey.publicKey, role: 'admin', validityMs: SELF_CERTIFICATE_MS, quotaBytes: 0 },
      ),
    ],
  });
  const clearinghousePublicKey = fromHex(config.clearinghouse.publicKey, 'clearinghouse.publicKey', 32);
  const ledger = connectLedger(config.clearinghouse.address, identity, { clearinghousePublicKey });
  // Polls run one after the other: the timer's and ListStatements' (server.ts) never overlap.
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  function syncNow(): Promise<StatementSyncResult> {
    if (stopped) return Promise.reject(new Error('the statement poller is stopped'));
    const next = running.then(syncOnce);
    running = next.catch(() => undefined);
    return next;
  }

  async function syncOnce(): Promise<StatementSyncResult> {
    const result = await syncStatements({
      areaCode: config.areaCode,
      clearinghousePublicKey,
      source: { listPeriods: () => ledger.listPeriods(), getStatements: (id) => ledger.getStatements(id) },
      store: deps.store,
      now: deps.now,
    });
    for (const r of result.refused) deps.log(`statement for period '${r.periodId}' refused: ${r.reason}`);
    deps.onSync?.(result);
    return result;
  }

  const tick = (): void => {
    if (stopped) return;
    syncNow().catch((err: unknown) => deps.log(`statements: cannot ask the clearinghouse at ${config.clearinghouse.address}: ${(err as Error).message}`));
  };
  // The first poll waits one interval: a grid manager usually starts before
  // its grid is admitted, and asking at once would only log a refusal.
  const timer = setInterval(tick, config.statementPollMs);
  timer.unref();

  return {
    syncNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      ledger.close();
    },
  };
}
