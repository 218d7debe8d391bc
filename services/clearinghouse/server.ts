/**
 * Clearinghouse wiring: database, clearinghouse key, the grid store, the
 * auth policy and the gRPC server. Business rules live in handlers.ts and
 * grid-store.ts.
 */
import * as grpc from '@grpc/grpc-js';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { readKeyFile, securedServer, type AuthPolicy, type Role } from '../../libs/auth/index.js';
import { openDatabase } from '../../libs/db/index.js';
import { clearinghouseProto, stderrInternalLogger } from '../../libs/rpc/index.js';
import type { ClearinghouseConfig } from './config.js';
import { clearinghouseHandlers, federationInviteHandlers } from './handlers.js';
import { GridInviteStore } from './grid-invite-store.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from './migrations.js';
import { SanctionStore } from './sanction-store.js';
import { GridStore } from './grid-store.js';
import { LedgerStore } from './ledger-store.js';
import { PeriodStore } from './period-store.js';
import { startRecordOpener, type RecordOpener } from './verify-pool.js';
import { checkApprovedGateway, checkGridMember, type GatewayRevocations, type GridDirectory } from './caller-rules.js';
import { LEDGER_TABLES } from './ledger-schema.js';
import { ServiceMetrics, listenWithMetrics, serviceLogger } from '../../libs/metrics/index.js';

export interface StartClearinghouseOptions {
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Clock (Unix ms), for tests. */
  now?(): number;
  /** Unexpected errors (sent to callers as INTERNAL without detail). Default: one line on stderr. */
  onInternal?(err: unknown, method: string): void;
  /** Request log, one JSON line per call (default: serviceLogger, stderr at INTERGRID_LOG_LEVEL). */
  logger?: Logger;
}

export interface RunningClearinghouse {
  /** host:port actually bound. */
  address: string;
  /** The clearinghouse key's public half. */
  publicKey: Uint8Array;
  /** The store (price history for billing, tests). */
  grids: GridStore;
  /** The billing ledger (tests, bench). */
  ledger: LedgerStore;
  /** host:port of the Prometheus endpoint (GET /metrics) when `config.metrics` is set. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/** Which roles may call each method (docs/clearinghouse.md "Access"). */
export const CLEARINGHOUSE_METHOD_ROLES: Record<string, readonly Role[]> = {
  AdmitGrid: ['clearinghouse-admin'],
  SetGridSuspended: ['clearinghouse-admin'],
  ApproveGateway: ['clearinghouse-admin'],
  RevokeGatewayApproval: ['clearinghouse-admin'],
  SetPrice: ['clearinghouse-admin'],
  ListGrids: ['clearinghouse-admin'],
  CreateGridInvite: ['clearinghouse-admin'],
  RegisterContactPoint: ['contact-point'],
  DeregisterContactPoint: ['contact-point'],
  ListSanctions: ['contact-point'],
  Resolve: ['gateway-approval'],
  ReportUsage: ['contact-point', 'gateway-approval'],
  ListDisputes: ['clearinghouse-admin'],
  ResolveDispute: ['clearinghouse-admin'],
  ClosePeriod: ['clearinghouse-admin'],
  GetLedger: ['clearinghouse-admin'],
  ListPeriods: ['clearinghouse-admin', 'admin'],
  GetStatements: ['clearinghouse-admin', 'admin'],
};

/**
 * Who the caller must be beyond its role (caller-rules.ts), per method: the
 * policy's `admit` hook, run by the auth check before any handler. Contact
 * points and grid admins speak for the grid that issued them; a gateway
 * resolving speaks for an admitted, unsuspended grid and is not revoked.
 * Methods not named here need nothing beyond their role.
 */
export function clearinghouseAdmission(grids: GridDirectory, sanctions: GatewayRevocations): NonNullable<AuthPolicy['admit']> {
  return (p, method) => {
    switch (method) {
      // ListSanctions too: the list is no secret, but it is the business of admitted, unsuspended grids only.
      case 'RegisterContactPoint':
      case 'DeregisterContactPoint':
      case 'ListSanctions':
        checkGridMember(grids, p, 'contact point');
        return;
      case 'ReportUsage':
        // A gateway's approval certificate is its proof (its records are checked one by one, usage-check.ts).
        if (p.role === 'contact-point') checkGridMember(grids, p, 'contact point');
        return;
      case 'ListPeriods':
      case 'GetStatements':
        if (p.role === 'admin') checkGridMember(grids, p, 'grid admin');
        return;
      case 'Resolve':
        checkApprovedGateway(grids, sanctions, p);
        return;
    }
  };
}

/**
 * Opens the database (applying migrations), loads the clearinghouse key and
 * serves the Clearinghouse service on `config.listen`.
 * @throws ConfigError / InvalidArgumentError for an unreadable key file, or
 *   the bind error when the address is taken.
 */
export async function startClearinghouse(config: ClearinghouseConfig, opts: StartClearinghouseOptions = {}): Promise<RunningClearinghouse> {
  const now = opts.now ?? Date.now;
  const key = readKeyFile(config.keyFile);
  let knex: Knex | undefined;
  let opener: RecordOpener | undefined;
  try {
    knex = await openDatabase(config.database, clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
    const grids = await GridStore.open(knex);
    const ledger = await LedgerStore.open(knex, { resolutionTtlMs: config.resolutionTtlMs, maxClockSkewMs: config.maxClockSkewMs });
    const periods = new PeriodStore(ledger, key);
    opener = await startRecordOpener(config.verifyWorkers);
    const onInternal =
      opts.onInternal ?? stderrInternalLogger('clearinghouse');
    const invites = new GridInviteStore(knex, grids);
    const sanctions = await SanctionStore.open(knex);
    const ctx = { config, key, grids, invites, ledger, periods, opener, sanctions, now, onInternal };
    const impl = clearinghouseHandlers(ctx);
    const policy: AuthPolicy = {
      methods: CLEARINGHOUSE_METHOD_ROLES,
      issuersFor: (role) => {
        // Operators and gateway approvals: only our own key. Contact points:
        // the managers of admitted, unsuspended grids (`admit` then checks
        // the certificate's area code is that manager's grid).
        if (role === 'clearinghouse-admin' || role === 'gateway-approval') return [key.publicKey];
        // A grid's 'admin' (statements): likewise issued by an active grid's manager.
        if (role === 'contact-point' || role === 'admin') return grids.activeGridManagerKeys();
        return [];
      },
      admit: clearinghouseAdmission(grids, sanctions),
      serverKey: key.publicKey,
      maxNoncesPerCaller: config.maxNoncesPerCaller,
      maxSkewMs: config.maxClockSkewMs,
      now,
      onInternalError: onInternal,
    };
    const definition = clearinghouseProto().intergrid.clearinghouse.Clearinghouse.service;
    const metrics = new ServiceMetrics('clearinghouse');
    const db = knex;
    const count = async (table: string, where: Record<string, string> = {}): Promise<number> => {
      const r = (await db(table).where(where).count({ n: '*' }).first()) as { n: unknown } | undefined;
      return Number(r?.n ?? 0);
    };
    metrics.gauge('intergrid_clearinghouse_ledger_postings', 'Ledger postings recorded (double-entry rows)', () => count(LEDGER_TABLES.postings));
    metrics.gauge('intergrid_clearinghouse_disputes_open', 'Disputes awaiting resolution', () => count(LEDGER_TABLES.disputes, { state: 'open' }));
    metrics.gauge('intergrid_clearinghouse_records_pending', 'Transfers reported by one side only', () => count(LEDGER_TABLES.transfers, { state: 'pending' }));
    const logger = opts.logger ?? serviceLogger('clearinghouse', { env: process.env });
    const server = securedServer(definition, impl, policy, { metrics, logger, ...(opts.interceptors ? { interceptors: opts.interceptors } : {}) });
    // FederationInvite.Redeem: the grid manager has no certificate here; the handler checks the invite secret and the grid key's signature.
    server.addService(clearinghouseProto().intergrid.clearinghouse.FederationInvite.service, federationInviteHandlers(ctx));
    const listening = await listenWithMetrics(server, config.listen, key, metrics, config.metrics);
    const verifier = opener;
    let stopped = false;
    return {
      address: listening.address,
      publicKey: key.publicKey,
      grids,
      ledger,
      ...(listening.metricsAddress ? { metricsAddress: listening.metricsAddress } : {}),
      async stop() {
        if (stopped) return;
        stopped = true;
        await listening.stop();
        await verifier.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await opener?.close();
    await knex?.destroy();
    throw err;
  }
}
