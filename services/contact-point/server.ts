/**
 * Contact point wiring: its identity, the shared connection to its own grid,
 * its store (transfers served, receipts, outbox) with the 'clearinghouse'
 * pump and the no-receipt sweep, the auth policy (gateway-approval
 * certificates from the clearinghouse only), the gRPC server, and
 * registration at the clearinghouse.
 */
import * as grpc from '@grpc/grpc-js';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import {
  readKeyFile,
  readCertificateFile,
  writeCertificateFile,
  decodeCertificateBase64,
  securedServer, type AuthPolicy,
  type Identity,
  type Role,
} from '../../libs/auth/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { openDatabase } from '../../libs/db/index.js';
import { CLEARINGHOUSE_CHANNEL, clearinghouseRpcClient, clearinghouseUsageSender } from '../../libs/federation/index.js';
import { startOutboxPump, type PumpOptions } from '../../libs/outbox/index.js';
import { MAX_SEGMENT_MESSAGE_BYTES } from '../../libs/format/index.js';
import { setServing, contactPointProto } from '../../libs/rpc/index.js';
import { ServiceMetrics, listenWithMetrics, serviceLogger, type Listening } from '../../libs/metrics/index.js';
import type { ContactPointConfig } from './config.js';
import { contactPointHandlers } from './handlers.js';
import { checkGateway, checkNotSuspended } from './caller-rules.js';
import { HomeGrid } from './home-grid.js';
import { CONTACT_POINT_MIGRATIONS_TABLE, CONTACT_POINT_SANCTIONS_PREFIX, contactPointMigrations } from './migrations.js';
import { SanctionsWatch } from './sanctions.js';
import { RevokedSet } from '../../libs/grid/index.js';
import { ServedStore } from './served-store.js';
import { startRegistration, type Registration } from './registration.js';

/**
 * Largest SegmentChunk message (libs/format MAX_SEGMENT_MESSAGE_BYTES, the
 * one constant): a gateway's channel to a contact point must accept messages
 * this large (grpc.max_receive_message_length).
 */
export const CONTACT_POINT_MESSAGE_LIMIT = MAX_SEGMENT_MESSAGE_BYTES;

/** Which roles may call each method (docs/contact-point.md "Access"). */
export const CONTACT_POINT_METHOD_ROLES: Record<string, readonly Role[]> = {
  FetchSegments: ['gateway-approval'],
  SubmitReceipt: ['gateway-approval'],
  GetUsage: ['admin'],
};

/**
 * Which gateways each method serves beyond their role (caller-rules.ts): the
 * policy's `admit` hook. Gateways of other grids only; a suspended grid's
 * gateway may not fetch, but may still hand in receipts (they account for
 * bytes already served). GetUsage is for this grid's admin: nothing more.
 */
export function contactPointAdmission(areaCode: string, isGridSuspended: (areaCode: string) => boolean): NonNullable<AuthPolicy['admit']> {
  return (p, method) => {
    if (method === 'FetchSegments' || method === 'SubmitReceipt') checkGateway(p, areaCode);
    if (method === 'FetchSegments') checkNotSuspended(p, isGridSuspended);
  };
}

export interface StartContactPointOptions {
  /** Logger (default: serviceLogger, stderr at INTERGRID_LOG_LEVEL). Tests pass a silent one. */
  logger?: Logger;
  /** Use this identity instead of reading keyFile / certificateFile (renewals are then not written back). */
  identity?: Identity;
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Clock (Unix ms), for tests. */
  now?(): number;
  /** Outbox pump timing (tests shorten the backoff). */
  pumpTiming?: Pick<PumpOptions, 'pollMs' | 'minBackoffMs' | 'maxBackoffMs' | 'batchSize'>;
  /** How often the no-receipt sweep runs (default receiptWaitMs / 4, between 50 ms and 30 s). */
  sweepIntervalMs?: number;
}

export interface RunningContactPoint {
  /** host:port actually bound. */
  address: string;
  /** The address registered at the clearinghouse (advertiseAddress or the bound one). */
  advertisedAddress: string;
  /** The contact point's public key. */
  publicKey: Uint8Array;
  /** Transfers served, receipts and the outbox of served records. */
  store: ServedStore;
  /** Resolves once the 'clearinghouse' outbox has nothing pending (tests, demo). */
  drainOutboxes(): Promise<void>;
  /** Runs the no-receipt sweep now; resolves with the number of transfers reported. */
  sweepNow(): Promise<number>;
  /** Registration at the clearinghouse (last success / error). */
  registration: Registration;
  /** Suspended grids and revoked gateway approvals learnt from the clearinghouse. */
  sanctions: SanctionsWatch;
  /** host:port of the Prometheus endpoint (GET /metrics) when `config.metrics` is set. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/**
 * Starts a contact point: binds the ContactPoint service, then registers at
 * the clearinghouse (in the background; failures are logged and retried,
 * never fatal). The grid connection opens on the first request.
 * @throws ConfigError / InvalidArgumentError for unreadable key or certificate files; the bind error when the address is taken.
 */
export async function startContactPoint(config: ContactPointConfig, opts: StartContactPointOptions = {}): Promise<RunningContactPoint> {
  const logger = opts.logger ?? serviceLogger(config.name ?? 'contact-point', { env: process.env });
  const now = opts.now ?? Date.now;
  const identity: Identity = opts.identity ?? { keyPair: readKeyFile(config.keyFile), certificates: [readCertificateFile(config.certificateFile)] };
  const clearinghouseKey = fromHex(config.clearinghouse.publicKey);
  const gridManagerKey = fromHex(config.gridManager.publicKey);

  const home = new HomeGrid(
    { identity, areaCode: config.areaCode, gridManager: { address: config.gridManager.address, publicKey: fromHex(config.gridManager.publicKey) } },
    {
      refreshMs: config.directoryRefreshMs,
      now,
      onCertificateRenewed: (b64) => {
        if (opts.identity) return;
        try {
          writeCertificateFile(config.certificateFile, decodeCertificateBase64(b64));
          logger.info({ certificateFile: config.certificateFile }, 'contact-point certificate renewed');
        } catch (err) {
          logger.warn({ err }, 'could not write the renewed certificate (the old file stays)');
        }
      },
      onRefreshError: (err) => logger.warn({ err }, 'directory refresh failed; still using the previous server list'),
    },
  );
  const onInternal = (err: unknown, method: string): void => logger.error({ err, method }, 'internal error');
  let knex: Knex;
  try {
    knex = await openDatabase(config.database, contactPointMigrations, CONTACT_POINT_MIGRATIONS_TABLE);
  } catch (err) {
    home.close();
    throw err;
  }
  let sanctionSet: RevokedSet;
  try {
    // Before anything is served: a grid suspended (a key revoked) before a restart stays refused.
    sanctionSet = await RevokedSet.load(knex, CONTACT_POINT_SANCTIONS_PREFIX, 'clearinghouse');
  } catch (err) {
    home.close();
    await knex.destroy();
    throw err;
  }
  const sanctions = new SanctionsWatch({
    clearinghouse: { address: config.clearinghouse.address, publicKey: clearinghouseKey },
    identity: () => home.currentIdentity(),
    set: sanctionSet,
    pollMs: config.sanctionsPollMs,
    logger,
  });
  let wake = (): void => undefined;
  const store = await ServedStore.open(knex, { key: identity.keyPair, areaCode: config.areaCode, now, onQueued: () => wake() });
  const reporter = clearinghouseRpcClient({ address: config.clearinghouse.address, publicKey: clearinghouseKey }, () => home.currentIdentity());
  let lastPumpError = '';
  const pump = startOutboxPump(store.outbox, CLEARINGHOUSE_CHANNEL, clearinghouseUsageSender(() => reporter), {
    ...opts.pumpTiming,
    onError: (err) => {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== lastPumpError) logger.warn({ err: msg }, 'reporting served records to the clearinghouse failed (will retry)');
      lastPumpError = msg;
    },
    onDropped: (row, state, reason) => logger.error({ recordId: row.id, state, reason }, 'served record dropped'),
  });
  wake = () => pump.wake();
  const sweep = async (): Promise<number> => {
    try {
      return await store.sweepUnreceipted(config.receiptWaitMs);
    } catch (err) {
      logger.warn({ err }, 'no-receipt sweep failed (will retry)');
      return 0;
    }
  };
  const sweepEvery = opts.sweepIntervalMs ?? Math.max(50, Math.min(30_000, Math.floor(config.receiptWaitMs / 4)));
  let sweeping: Promise<number> | undefined;
  const sweepTimer = setInterval(() => {
    sweeping ??= sweep().finally(() => (sweeping = undefined));
  }, sweepEvery);
  sweepTimer.unref();
  const closeStore = async (): Promise<void> => {
    clearInterval(sweepTimer);
    await sweeping;
    await pump.stop();
    reporter.close();
    await knex.destroy();
  };

  const handlers = contactPointHandlers({
    areaCode: config.areaCode,
    acquireGrid: () => home.acquire(),
    publicKey: identity.keyPair.publicKey,
    store,
    maxConcurrentFetches: config.maxConcurrentFetches,
    maxFetchesPerGateway: config.maxFetchesPerGateway,
    streamStallMs: config.streamStallMs,
    onInternal,
    onReceipt: ({ receipt, outcome }) =>
      logger.info({ transferId: receipt.transferId, gateway: receipt.gateway.slice(0, 16), bytes: receipt.bytes, outcome }, 'receipt received'),
    onTransfer: ({ transfer, cap, error }) => {
      const line = { transferId: transfer.transferId, gateway: transfer.gateway.slice(0, 16), gatewayGrid: transfer.gatewayGrid, cap, bytes: transfer.bytes, state: transfer.state };
      if (error === undefined) logger.info(line, 'transfer finished');
      else logger.warn({ ...line, error: error instanceof Error ? error.message : String(error) }, 'transfer failed');
    },
  });
  const policy: AuthPolicy = {
    methods: CONTACT_POINT_METHOD_ROLES,
    // Only the clearinghouse approves gateways; no grid manager's certificate opens this service.
    // Its own grid's admin may read the meter.
    issuersFor: (role) => (role === 'gateway-approval' ? [clearinghouseKey] : role === 'admin' ? [gridManagerKey] : []),
    serverKey: identity.keyPair.publicKey,
    maxNoncesPerCaller: config.maxNoncesPerCaller,
    // A gateway whose approval the clearinghouse revoked is refused on every call, before its certificate expires.
    isRevoked: (subject) => sanctions.isGatewayRevoked(subject),
    admit: contactPointAdmission(config.areaCode, (areaCode) => sanctions.isGridSuspended(areaCode)),
    maxSkewMs: config.maxClockSkewMs,
    onInternalError: onInternal,
    ...(opts.now ? { now: opts.now } : {}),
  };
  const metrics = new ServiceMetrics('contact-point');
  const server = securedServer(contactPointProto().intergrid.contactpoint.ContactPoint.service, handlers, policy, {
    options: { 'grpc.max_send_message_length': CONTACT_POINT_MESSAGE_LIMIT },
    metrics,
    logger,
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  });
  let listening: Listening;
  try {
    listening = await listenWithMetrics(server, config.listen, identity.keyPair, metrics, config.metrics);
  } catch (err) {
    home.close();
    await sanctions.stop();
    await closeStore();
    throw err;
  }
  sanctions.start();
  const { address, metricsAddress } = listening;
  const advertisedAddress = config.advertiseAddress ?? address;
  const registration = startRegistration({
    clearinghouse: { address: config.clearinghouse.address, publicKey: clearinghouseKey },
    address: advertisedAddress,
    identity: () => home.currentIdentity(),
    intervalMs: config.registerIntervalMs,
    logger,
  });
  logger.info({ address, advertisedAddress, areaCode: config.areaCode, publicKey: toHex(identity.keyPair.publicKey) }, 'contact point listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    advertisedAddress,
    publicKey: identity.keyPair.publicKey,
    store,
    drainOutboxes: () => pump.drained(),
    sweepNow: sweep,
    registration,
    sanctions,
    ...(metricsAddress ? { metricsAddress } : {}),
    stop() {
      stopping ??= (async () => {
        setServing(server, false); // NOT_SERVING from the first moment of stop; stopServer drains
        await registration.stop();
        await sanctions.stop();
        await listening.stop();
        await closeStore();
        home.close();
        logger.info({ address }, 'contact point stopped');
      })();
      return stopping;
    },
  };
}
