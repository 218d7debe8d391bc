/**
 * Storage server wiring: open the stores, reconcile disk and database, wrap
 * the handlers in the one auth check, bind, then start the grid-manager link
 * and garbage collection. Nothing is served before reconciliation finishes.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { storageProto, setServing, CallerSlots } from '../../libs/rpc/index.js';
import { securedServer, principalOf, readKeyFile, readCertificateFile, type AuthPolicy, type Identity, type Principal, type Role } from '../../libs/auth/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { isGridRole, RevokedSet } from '../../libs/grid/index.js';
import { STORAGE_REVOKED_PREFIX } from './migrations.js';
import type { StorageConfig } from './config.js';
import { MetadataStore } from './metadata-store.js';
import { DiskShareStore } from './disk-share-store.js';
import { S3ShareStore } from './s3-share-store.js';
import type { ShareBackend } from './share-backend.js';
import { KeyedLock } from './keyed-lock.js';
import { createStorageHandlers, type Caller, type StorageContext } from './handlers.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { collectGarbage, startGc, type GcResult } from './gc.js';
import { GridLink } from './grid-link.js';
import { ServiceMetrics, listenWithMetrics, serviceLogger, type Listening } from '../../libs/metrics/index.js';

export interface StorageServerOptions {
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Logger (default: serviceLogger, stderr at INTERGRID_LOG_LEVEL). Tests pass a silent one. */
  logger?: Logger;
  /** Clock, Unix ms (tests). */
  now?: () => number;
  /** Use this identity instead of reading keyFile / certificateFile. */
  identity?: Identity;
}

export interface RunningStorageServer {
  /** host:port actually bound. */
  address: string;
  /** Its identity key: the key its TLS certificate carries and requests are signed for. */
  publicKey: Uint8Array;
  /** What startup reconciliation removed. */
  reconciled: ReconcileResult;
  /** Runs one garbage-collection pass now (also runs every gcIntervalMs). */
  collectGarbage(): Promise<GcResult>;
  /** The grid-manager link (revocations, announcements, usage reports). */
  gridLink: GridLink;
  /** host:port of the Prometheus endpoint (GET /metrics) when `config.metrics` is set. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/** Roles a grid manager certifies; the grid manager is the only trusted issuer for each. */

/** Which roles may call each method (docs/storage.md "Access"). */
export const STORAGE_METHOD_ROLES: Record<string, readonly Role[]> = {
  AllocateBuckets: ['client'],
  WriteShare: ['client'],
  AbortShares: ['client'],
  RenewLease: ['client'],
  ListShares: ['client', 'contact-point'],
  ReadShare: ['client', 'contact-point'],
  AdviseCorrupt: ['client', 'contact-point'],
  Stats: ['client', 'admin', 'contact-point'],
};

/** The account and quota of an authenticated caller. */
export function callerFromPrincipal(p: Principal): Caller {
  const quota = p.role === 'client' ? (p.certificate.limits.quota_bytes ?? 0) : 0;
  return { account: toHex(p.publicKey), quotaBytes: quota };
}

/**
 * Starts a storage server.
 * @throws if the data dir, database or identity files cannot be opened.
 */
export async function startStorageServer(config: StorageConfig, opts: StorageServerOptions = {}): Promise<RunningStorageServer> {
  const logger = opts.logger ?? serviceLogger(config.name ?? 'storage', { env: process.env });
  const now = opts.now ?? Date.now;
  const identity: Identity = opts.identity ?? loadIdentity(config);

  const shares: ShareBackend = config.shareBackend.kind === 's3' ? new S3ShareStore(config.shareBackend, config.dataDir) : new DiskShareStore(config.dataDir);
  await shares.init();
  const meta = await MetadataStore.open(config.database);
  let reconciled: ReconcileResult;
  let revoked: RevokedSet;
  try {
    reconciled = await reconcile(meta, shares, logger);
    // Before anything is served: what was revoked before a restart stays revoked.
    revoked = await RevokedSet.load(meta.knex, STORAGE_REVOKED_PREFIX, 'grid-manager');
  } catch (err) {
    await meta.close();
    throw err;
  }

  const ctx: StorageContext = {
    meta,
    shares,
    locks: new KeyedLock(),
    activeWrites: new Map(),
    leaseDurationMs: config.leaseDurationMs,
    reservationTtlMs: config.reservationTtlMs,
    maxShareBytes: config.maxShareBytes,
    streams: new CallerSlots(config.maxStreamsPerCaller, 'storage streams (ReadShare + WriteShare)'),
    streamStallMs: config.streamStallMs,
    writeIdleMs: config.writeIdleMs,
    logger,
    now,
  };

  const link = new GridLink({
    managerAddress: config.gridManager.address,
    identity,
    announceIntervalMs: config.announceIntervalMs,
    revocationPollMs: config.revocationPollMs,
    revoked,
    usageReportIntervalMs: config.usageReportIntervalMs,
    usage: () => meta.usageByAccount(now()),
    logger,
  });
  const managerKey = fromHex(config.gridManager.publicKey);
  const policy: AuthPolicy = {
    methods: STORAGE_METHOD_ROLES,
    issuersFor: (role) => (isGridRole(role) ? [managerKey] : []),
    isRevoked: (subject) => link.isRevoked(subject),
    serverKey: identity.keyPair.publicKey,
    maxSkewMs: config.maxClockSkewMs,
    maxNoncesPerCaller: config.maxNoncesPerCaller,
    // Auth keeps the real clock (skew is against the caller's clock); `now` only drives leases.
  };
  const handlers = createStorageHandlers(ctx, (call) => callerFromPrincipal(principalOf(call)));
  const metrics = new ServiceMetrics('storage');
  metrics.gauge('intergrid_storage_shares_stored', 'Shares committed and held by this server', async () => (await meta.totals()).shares);
  metrics.gauge('intergrid_storage_share_bytes_stored', 'Bytes of committed shares held by this server', async () => (await meta.totals()).bytes);
  const server = securedServer(storageProto().intergrid.storage.Storage.service, handlers, policy, {
    metrics,
    logger,
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  });
  let listening: Listening;
  try {
    listening = await listenWithMetrics(server, config.listen, identity.keyPair, metrics, config.metrics);
  } catch (err) {
    await link.stop();
    await meta.close();
    throw err;
  }

  const { address, metricsAddress } = listening;
  link.start(config.advertiseAddress ?? address);
  const gc = startGc(ctx, config.gcIntervalMs);
  logger.info({ address, dataDir: config.dataDir, shares: shares.description, ...reconciled }, 'storage server listening');

  let stopping: Promise<void> | undefined;
  const gridLink = link;
  return {
    address,
    publicKey: identity.keyPair.publicKey,
    reconciled,
    gridLink,
    ...(metricsAddress ? { metricsAddress } : {}),
    collectGarbage: () => collectGarbage(ctx),
    stop() {
      stopping ??= (async () => {
        setServing(server, false); // NOT_SERVING from the first moment of stop; stopServer drains
        await gridLink.stop();
        await gc.stop();
        await listening.stop();
        await meta.close();
        shares.close?.();
        logger.info({ address }, 'storage server stopped');
      })();
      return stopping;
    },
  };
}

function loadIdentity(config: StorageConfig): Identity {
  return { keyPair: readKeyFile(config.keyFile), certificates: [readCertificateFile(config.certificateFile)] };
}
