/**
 * Gateway wiring: identity, store (transfers, receipts, outbox) and its
 * pumps, clearinghouse client, resolver, contact-point channels, the auth
 * policy and the gRPC server. The fetch rules live in handlers.ts and
 * long-distance-fetch.ts; receipts in receipts.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { readIdentity, securedClient, securedServer, type AuthPolicy, type Identity, type Peer, type Role } from '../../libs/auth/index.js';
import type { Knex } from 'knex';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { MAX_SEGMENT_MESSAGE_BYTES } from '../../libs/format/index.js';
import { openDatabase } from '../../libs/db/index.js';
import { clearinghouseRpcClient, connectClearinghouse, type ClearinghouseConnection } from '../../libs/federation/index.js';
import { gatewayProto, contactPointProto, stderrInternalLogger } from '../../libs/rpc/index.js';
import type { ContactPointClient } from '../../libs/rpc/proto-types.js';
import type { GatewayConfig } from './config.js';
import { gatewayHandlers, type GatewayContext } from './handlers.js';
import { Resolver, type ResolutionSource } from './resolver.js';
import { GATEWAY_MIGRATIONS_TABLE, GATEWAY_REVOKED_PREFIX, gatewayMigrations } from './migrations.js';
import { RevokedSet } from '../../libs/grid/index.js';
import { startGatewayPumps, type GatewayPumps, type PumpTiming } from './outbox-pumps.js';
import { receiptsForFetch } from './receipts.js';
import { RevocationWatch } from './revocation-watch.js';
import { GatewayStore, type UsageLine } from './transfer-store.js';
import type { Logger } from 'pino';
import { ServiceMetrics, listenWithMetrics, serviceLogger, type Listening } from '../../libs/metrics/index.js';

export interface StartGatewayOptions {
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Clock (Unix ms), for tests. */
  now?(): number;
  /** Resolutions from somewhere other than the configured clearinghouse (tests). */
  resolutionSource?: ResolutionSource;
  /** Called once per finished fetch. */
  onFetched?: GatewayContext['onFetched'];
  /** A failing revocation poll (once per failure streak). Default: one line on stderr. */
  onRevocationPollError?(err: unknown): void;
  /** Unexpected errors (sent to callers as INTERNAL without detail). Default: one line on stderr. */
  onInternal?(err: unknown, method: string): void;
  /** Outbox pump timing (tests shorten the backoff). */
  pumpTiming?: PumpTiming;
  /** Outbox problems (a channel's failure streak, a dropped message). Default: one line on stderr. */
  onOutboxLog?(line: string): void;
  /** Request log, one JSON line per call (default: serviceLogger, stderr at INTERGRID_LOG_LEVEL). */
  logger?: Logger;
}

export interface RunningGateway {
  /** host:port actually bound. */
  address: string;
  /** The gateway key's public half. */
  publicKey: Uint8Array;
  /** Verified bytes per (client, remote area code), from the store (what GetUsage returns). */
  usage(): Promise<UsageLine[]>;
  /** Transfers, receipts and the outbox. */
  store: GatewayStore;
  /** Resolves once every outbox channel has nothing pending (tests, demo). Never resolves while a receiver stays down. */
  drainOutboxes(): Promise<void>;
  /** True once the grid manager's revocation list was loaded. */
  revocationsLoaded(): boolean;
  /** Drops cached resolutions. */
  clearResolutionCache(): void;
  /** host:port of the Prometheus endpoint (GET /metrics) when `config.metrics` is set. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/** Which roles may call each method (docs/gateway.md "Access"). */
export const GATEWAY_METHOD_ROLES: Record<string, readonly Role[]> = {
  Fetch: ['client'],
  GetUsage: ['admin'],
};

/**
 * Loads the gateway identity and serves the Gateway service on `config.listen`.
 * @throws ConfigError for unreadable key or certificate files, or the bind error when the address is taken.
 */
export async function startGateway(config: GatewayConfig, opts: StartGatewayOptions = {}): Promise<RunningGateway> {
  const now = opts.now ?? Date.now;
  const identity: Identity = readIdentity(config.keyFile, config.certificateFiles);
  const gridManagerKey = fromHex(config.gridManager.publicKey, 'gridManager.publicKey', 32);
  const clearinghouseKey = fromHex(config.clearinghouse.publicKey, 'clearinghouse.publicKey', 32);

  let clearinghouse: ClearinghouseConnection | undefined;
  const source: ResolutionSource =
    opts.resolutionSource ??
    (clearinghouse = connectClearinghouse(config.clearinghouse.address, identity, { clearinghousePublicKey: clearinghouseKey, now }));
  const resolver = new Resolver(source, { cacheMs: config.resolutionCacheMs, now });

  // One channel per contact point address, signing as the gateway (its
  // gateway-approval certificate is what contact points accept).
  const channels = new Map<string, ContactPointClient>();
  const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
  const contactPoint = (peer: Peer): ContactPointClient => {
    // Keyed by address and key: a contact point that moved, or another key at a known address, gets its own pinned channel.
    const slot = `${peer.address}/${toHex(peer.publicKey)}`;
    let c = channels.get(slot);
    // A channel whose last connection attempt failed sits in gRPC's reconnect backoff and fails every call
    // at once, even after the contact point is back on that address: start afresh instead. Its own
    // subchannel pool keeps the backoff state from being shared with (and revived by) the new channel.
    if (c && c.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = securedClient<ContactPointClient>(Ctor, peer, identity, {
        channelOptions: {
          // A contact point sends segments up to the largest segment size plus proof (above CHANNEL_OPTIONS' 16 MiB).
          'grpc.max_receive_message_length': MAX_SEGMENT_MESSAGE_BYTES,
          'grpc.use_local_subchannel_pool': 1,
        },
      });
      channels.set(slot, c);
    }
    return c;
  };

  const onInternal =
    opts.onInternal ?? stderrInternalLogger('gateway');
  let knex: Knex;
  let revoked: RevokedSet;
  try {
    knex = await openDatabase(config.database, gatewayMigrations, GATEWAY_MIGRATIONS_TABLE);
  } catch (err) {
    clearinghouse?.close();
    throw err;
  }
  try {
    // Before anything is served: what was revoked before a restart stays revoked.
    revoked = await RevokedSet.load(knex, GATEWAY_REVOKED_PREFIX, 'grid-manager');
  } catch (err) {
    clearinghouse?.close();
    await knex.destroy();
    throw err;
  }
  const revocations = new RevocationWatch({
    address: config.gridManager.address,
    publicKey: gridManagerKey,
    identity,
    revoked,
    pollMs: config.revocationPollMs,
    onError:
      opts.onRevocationPollError ??
      ((err) => process.stderr.write(`gateway: revocation poll at grid manager ${config.gridManager.address} failed (will retry): ${err instanceof Error ? err.message : String(err)}\n`)),
  });
  const store = new GatewayStore(knex);
  const reporter = clearinghouseRpcClient({ address: config.clearinghouse.address, publicKey: clearinghouseKey }, identity);
  const log = opts.onOutboxLog ?? ((line: string) => void process.stderr.write(`gateway: ${line}\n`));
  const pumps: GatewayPumps = startGatewayPumps({
    outbox: store.outbox,
    clearinghouse: () => reporter,
    contactPoint,
    receiptDeliveryMaxAgeMs: config.receiptDeliveryMaxAgeMs,
    ...(config.nats ? { nats: config.nats } : {}),
    ...(opts.pumpTiming ? { timing: opts.pumpTiming } : {}),
    log,
  });
  const recordFetch: GatewayContext['recordFetch'] = async (f) => {
    const { transfers, messages } = receiptsForFetch({
      ...f,
      ownAreaCode: config.areaCode,
      gatewayKey: identity.keyPair,
      nats: config.nats !== undefined,
      atMs: now(),
    });
    if (transfers.length === 0) return;
    await store.recordTransfers(transfers, messages);
    pumps.wake();
  };
  const shutdownStore = async (): Promise<void> => {
    await pumps.stop();
    reporter.close();
    await knex.destroy();
  };

  const impl = gatewayHandlers({
    config,
    resolver,
    recordFetch,
    usage: () => store.usage(),
    fetchDeps: { contactPoint, timeoutMs: config.contactPointTimeoutMs },
    onFetched: opts.onFetched,
    onInternal,
  });
  const policy: AuthPolicy = {
    methods: GATEWAY_METHOD_ROLES,
    // Only this grid's manager issues the client and admin certificates the gateway accepts.
    issuersFor: () => [gridManagerKey],
    serverKey: identity.keyPair.publicKey,
    maxNoncesPerCaller: config.maxNoncesPerCaller,
    // A revoked client is refused on every call, not only when its certificate expires.
    isRevoked: (subject) => revocations.isRevoked(subject),
    maxSkewMs: config.maxClockSkewMs,
    now,
    onInternalError: onInternal,
  };
  const metrics = new ServiceMetrics('gateway');
  const logger = opts.logger ?? serviceLogger('gateway', { env: process.env });
  const server = securedServer(gatewayProto().intergrid.gateway.Gateway.service, impl, policy, {
    // The gateway forwards the contact point's segments as they are: the same limit as the contact point's.
    options: { 'grpc.max_send_message_length': MAX_SEGMENT_MESSAGE_BYTES },
    metrics,
    logger,
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  });
  let listening: Listening;
  try {
    listening = await listenWithMetrics(server, config.listen, identity.keyPair, metrics, config.metrics);
  } catch (err) {
    clearinghouse?.close();
    await revocations.stop();
    await shutdownStore();
    throw err;
  }
  revocations.start();
  let stopped = false;
  return {
    address: listening.address,
    publicKey: identity.keyPair.publicKey,
    usage: () => store.usage(),
    store,
    drainOutboxes: () => pumps.drained(),
    revocationsLoaded: () => revocations.hasLoaded,
    clearResolutionCache: () => resolver.clear(),
    ...(listening.metricsAddress ? { metricsAddress: listening.metricsAddress } : {}),
    async stop() {
      if (stopped) return;
      stopped = true;
      await listening.stop();
      await shutdownStore();
      for (const c of channels.values()) c.close();
      clearinghouse?.close();
      await revocations.stop();
    },
  };
}
