/**
 * Grid manager wiring: database, grid key, stores, the auth policy and the
 * gRPC server. Business rules live in handlers.ts and the stores.
 */
import * as grpc from '@grpc/grpc-js';
import type { Knex } from 'knex';
import { loadOrCreateKeyFile, readKeyFile, securedServer, type AuthPolicy, type Role } from '../../libs/auth/index.js';
import { fromHex } from '../../libs/crypto/index.js';
import { PreconditionError } from '../../libs/errors/index.js';
import { openDatabase } from '../../libs/db/index.js';
import { gridManagerProto, stderrInternalLogger } from '../../libs/rpc/index.js';
import type { GridManagerConfig } from './config.js';
import { gridInviteHandlers, gridManagerHandlers, statusSources } from './handlers.js';
import { cachedGridStatus } from './grid-status.js';
import { gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE } from './migrations.js';
import { GRID_ROLES } from '../../libs/grid/index.js';
import { PrincipalStore } from './principal-store.js';
import { InviteStore } from './invite-store.js';
import { RevocationLog } from './revocation-log.js';
import { ServerAnnouncements } from './server-announcements.js';
import { UsageStore } from './usage-store.js';
import { TransferTallyStore } from './transfer-tally-store.js';
import { startUsageEventConsumer, type RunningUsageEventConsumer, type UsageEventOutcome } from './usage-events.js';
import { StatementStore } from './statement-store.js';
import { startStatementPoller, type StatementPoller } from './statement-poller.js';
import type { StatementSyncResult } from './statement-sync.js';
import { WatchStore, type CheckOutcome } from './watch-store.js';
import { startRepairLoop, type RepairLoop } from './repair-loop.js';
import type { Logger } from 'pino';
import { ServiceMetrics, listenWithMetrics, serviceLogger } from '../../libs/metrics/index.js';

export interface StartGridManagerOptions {
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Request log, one JSON line per call (default: serviceLogger, stderr at INTERGRID_LOG_LEVEL). */
  logger?: Logger;
  /** Clock (Unix ms), for tests. */
  now?(): number;
  /** Unexpected errors (sent to callers as INTERNAL without detail). Default: one line on stderr. */
  onInternal?(err: unknown, method: string): void;
  /** Recovered problems of the NATS usage-event consumer (default: one stderr line each). */
  onEventsLog?(message: string): void;
  /** Called after each usage event was handled (tests). */
  onUsageEvent?(outcome: UsageEventOutcome): void;
  /** Called after the repairer checked a watched file (tests). */
  onRepairChecked?(storageIndex: string, outcome: CheckOutcome): void;
  /** Called after each statement poll (tests); refused statements are also logged. */
  onStatementSync?(result: StatementSyncResult): void;
}

export interface RunningGridManager {
  /** host:port actually bound. */
  address: string;
  /** The grid key's public half. */
  publicKey: Uint8Array;
  /**
   * Fetches and verifies new settlement statements now (config.clearinghouse
   * set); otherwise rejects. The poller does this every statementPollMs.
   */
  syncStatements(): Promise<StatementSyncResult>;
  /** Runs a repairer round now (the files that are due); resolves when it is done. */
  repairNow(): Promise<void>;
  /** host:port of the Prometheus endpoint (GET /metrics) when `config.metrics` is set. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/** How long ListStatements waits for the clearinghouse before listing what is stored. */
const STATEMENT_REFRESH_MS = 3000;

/** Which roles may call each method (docs/grid-manager.md "Access"). */
export const GRID_MANAGER_METHOD_ROLES: Record<string, readonly Role[]> = {
  GetDirectory: GRID_ROLES,
  RenewCertificate: GRID_ROLES,
  AnnounceServer: ['storage-server'],
  ReportUsage: ['storage-server'],
  ListRevocations: ['storage-server', 'gateway', 'contact-point', 'client'],
  Approve: ['admin'],
  Revoke: ['admin'],
  ListPrincipals: ['admin'],
  GetUsage: ['admin'],
  ListStatements: ['admin'],
  CreateInvite: ['admin'],
  GetStatus: ['admin'],
  WatchFile: ['admin'],
  UnwatchFile: ['admin'],
  ListWatched: ['admin'],
};

/**
 * Opens the database (applying migrations), loads the grid key and serves
 * the GridManager service on `config.listen`.
 * @throws ConfigError / InvalidArgumentError for an unreadable key file, or
 *   the bind error when the address is taken.
 */
export async function startGridManager(config: GridManagerConfig, opts: StartGridManagerOptions = {}): Promise<RunningGridManager> {
  const now = opts.now ?? Date.now;
  const gridKey = readKeyFile(config.keyFile);
  let knex: Knex | undefined;
  try {
    knex = await openDatabase(config.database, gridManagerMigrations, GRID_MANAGER_MIGRATIONS_TABLE);
    const principals = new PrincipalStore(knex);
    const revocations = await RevocationLog.open(knex);
    await principals.ensureAdmins(config.adminKeys.map((k) => fromHex(k, 'adminKeys entry', 32)), now());
    const usage = new UsageStore(knex);
    const transfers = new TransferTallyStore(knex, now);
    const statements = new StatementStore(knex);

    const onInternal =
      opts.onInternal ?? stderrInternalLogger('grid-manager');
    const watched = new WatchStore(knex);
    let repairLoop: RepairLoop | undefined;
    // Set once the poller starts (after the server listens); ListStatements reads it when called.
    const statementPoller: { current?: StatementPoller } = {};
    const eventsLog = opts.onEventsLog ?? ((m: string) => process.stderr.write(`grid-manager: ${m}\n`));
    const handlerContext = {
      config,
      gridKey,
      principals,
      invites: new InviteStore(knex),
      revocations,
      servers: new ServerAnnouncements(knex),
      usage,
      transfers,
      statements,
      watched,
      wakeRepairer: () => void repairLoop?.runNow(),
      refreshStatements: async () => {
        const poller = statementPoller.current;
        if (!poller) return;
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, STATEMENT_REFRESH_MS)));
        const sync = poller.syncNow().then(
          () => undefined,
          (err: unknown) => eventsLog(`statements: cannot ask the clearinghouse: ${(err as Error).message}`),
        );
        await Promise.race([sync, bound]);
        clearTimeout(timer);
      },
      now,
      onInternal,
    };
    const impl = gridManagerHandlers(handlerContext);
    const policy: AuthPolicy = {
      methods: GRID_MANAGER_METHOD_ROLES,
      // Only this grid's key issues certificates this service accepts.
      issuersFor: () => [gridKey.publicKey],
      serverKey: gridKey.publicKey,
      maxNoncesPerCaller: config.maxNoncesPerCaller,
      // A revoked key is refused on every method, not only on renewal.
      isRevoked: (subject) => revocations.isRevoked(subject),
      maxSkewMs: config.maxClockSkewMs,
      now,
      onInternalError: onInternal,
    };
    const definition = gridManagerProto().intergrid.gridmanager.GridManager.service;
    const metrics = new ServiceMetrics('grid-manager');
    // What `intergrid status` shows, as gauges (docs/grid-manager.md "Status"); one store read per scrape.
    const status = cachedGridStatus(statusSources({ config, principals, usage, statements }), now);
    metrics.gauge('intergrid_grid_storage_servers', 'Approved, unrevoked storage servers', async () => (await status()).servers.length);
    metrics.gauge('intergrid_grid_storage_servers_announced', 'Storage servers that announced an address at least once', async () => (await status()).servers.filter((v) => v.address !== '').length);
    metrics.gauge('intergrid_grid_storage_servers_listed', 'Storage servers in the directory: announced within directoryFreshnessMs, certificate unexpired', async () =>
      (await status()).servers.filter((v) => v.listed).length,
    );
    metrics.labelledGauge('intergrid_grid_principals', 'Approved, unrevoked principals by role', 'role', async () =>
      Object.fromEntries((await status()).principals.map((p) => [p.role, p.active])),
    );
    metrics.gauge('intergrid_grid_accounts_near_quota', 'Client accounts holding at least 90 % of their per-server quota on some storage server', async () => (await status()).nearQuota.length);
    metrics.gauge('intergrid_grid_certificates_expiring', 'Unrevoked principals whose certificate expires within 7 days (or has expired)', async () => (await status()).expiring.length);
    const droppedEvents = metrics.labelledCounter(
      'intergrid_grid_usage_events_dropped_total',
      'Usage events from NATS dropped without tallying, by reason: malformed (unreadable or unsigned), forged (signature does not verify), foreign-signer (not a gateway of this grid)',
      'reason',
    );
    const happy = config.repairer.happy;
    metrics.gauge('intergrid_repairer_files_watched', 'Files the repairer keeps alive', async () => (await watched.counts(happy)).watched);
    metrics.gauge('intergrid_repairer_files_below_happy', 'Watched files whose last check (after any repair) found fewer than happy good shares or servers', async () => (await watched.counts(happy)).belowHappy);
    const repairMetrics = {
      sharesRepaired: metrics.counter('intergrid_repairer_shares_repaired_total', 'Shares the repairer rebuilt and a storage server acknowledged'),
      leasesRenewed: metrics.counter('intergrid_repairer_leases_renewed_total', "Leases the repairer renewed (one per server holding a watched file's share, per check)"),
      checks: metrics.labelledCounter('intergrid_repairer_checks_total', 'Checks of watched files by outcome: ok, repaired, below-happy (not repairable now), failed', 'outcome'),
    };
    const logger = opts.logger ?? serviceLogger('grid-manager', { env: process.env });
    const server = securedServer(definition, impl, policy, { metrics, logger, ...(opts.interceptors ? { interceptors: opts.interceptors } : {}) });
    // GridInvite.Redeem: the caller has no certificate yet; the handler checks the invite secret and the new key's signature.
    server.addService(gridManagerProto().intergrid.gridmanager.GridInvite.service, gridInviteHandlers(handlerContext));
    const listening = await listenWithMetrics(server, config.listen, gridKey, metrics, config.metrics);
    const db = knex;
    // Consumed in the background: NATS down at start delays the tallies, it does not stop the grid manager.
    const events: RunningUsageEventConsumer | undefined = config.nats
      ? startUsageEventConsumer({
          nats: config.nats,
          tallies: transfers,
          name: `grid-manager ${config.areaCode}`,
          isGridGateway: async (key) => {
            const gw = await principals.get(key, 'gateway');
            return gw !== undefined && !gw.revoked;
          },
          log: opts.onEventsLog ?? ((m) => process.stderr.write(`grid-manager: ${m}\n`)),
          onEvent: (outcome) => {
            if (outcome === 'malformed' || outcome === 'forged' || outcome === 'foreign-signer') droppedEvents.labels(outcome).inc();
            opts.onUsageEvent?.(outcome);
          },
        })
      : undefined;
    const poller = config.clearinghouse
      ? startStatementPoller({
          config: { ...config, clearinghouse: config.clearinghouse },
          gridKey,
          store: statements,
          now,
          log: opts.onEventsLog ?? ((m) => process.stderr.write(`grid-manager: ${m}\n`)),
          ...(opts.onStatementSync ? { onSync: opts.onStatementSync } : {}),
        })
      : undefined;
    if (poller) statementPoller.current = poller;
    const log = opts.onEventsLog ?? ((m: string) => process.stderr.write(`grid-manager: ${m}\n`));
    try {
      repairLoop = await startRepairLoop({
        config,
        gridKey,
        repairerKey: loadOrCreateKeyFile(config.repairer.keyFile),
        principals,
        servers: handlerContext.servers,
        store: watched,
        now,
        log,
        metrics: repairMetrics,
        ...(opts.onRepairChecked ? { onChecked: opts.onRepairChecked } : {}),
      });
    } catch (err) {
      // A revoked repairer key, an unreadable key file: the grid manager serves on, without repairs.
      log(`repairer not started: ${(err as Error).message}`);
    }
    let stopped = false;
    return {
      address: listening.address,
      publicKey: gridKey.publicKey,
      ...(listening.metricsAddress ? { metricsAddress: listening.metricsAddress } : {}),
      async repairNow() {
        if (!repairLoop) throw new PreconditionError('the repairer is not running (see the grid manager log)');
        await repairLoop.runNow();
      },
      async syncStatements() {
        if (!poller) throw new PreconditionError('this grid manager has no clearinghouse in its config: it does not fetch statements');
        return poller.syncNow();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        // The event in progress commits and is acked before the database closes.
        await events?.stop();
        await poller?.stop();
        await repairLoop?.stop();
        await listening.stop();
        await db.destroy();
      },
    };
  } catch (err) {
    await knex?.destroy();
    throw err;
  }
}
