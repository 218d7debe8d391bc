/**
 * Contact point wiring: its identity, the shared connection to its own grid,
 * the auth policy (gateway-approval certificates from the clearinghouse
 * only), the gRPC server, and registration at the clearinghouse.
 */
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
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
import { MAX_SEGMENT_SIZE } from '../../libs/format/index.js';
import { bindServer, stopServer, contactPointProto } from '../../libs/rpc/index.js';
import type { ContactPointConfig } from './config.js';
import { contactPointHandlers } from './handlers.js';
import { HomeGrid } from './home-grid.js';
import { TransferMeter } from './transfer-meter.js';
import { startRegistration, type Registration } from './registration.js';

/**
 * Largest SegmentChunk message: one segment of the largest allowed size
 * plus its proof and framing. A gateway's channel to a contact point must
 * accept messages this large (grpc.max_receive_message_length).
 */
export const CONTACT_POINT_MESSAGE_LIMIT = MAX_SEGMENT_SIZE + 1024 * 1024;

/** Which roles may call each method (docs/contact-point.md "Access"). */
export const CONTACT_POINT_METHOD_ROLES: Record<string, readonly Role[]> = {
  FetchSegments: ['gateway-approval'],
  GetUsage: ['admin'],
};

export interface StartContactPointOptions {
  /** Logger (default: pino to stderr at info). Tests pass a silent one. */
  logger?: Logger;
  /** Use this identity instead of reading keyFile / certificateFile (renewals are then not written back). */
  identity?: Identity;
  /** Extra gRPC server interceptors (e.g. request capture in tests, tracing). */
  interceptors?: grpc.ServerInterceptor[];
  /** Clock (Unix ms), for tests. */
  now?(): number;
}

export interface RunningContactPoint {
  /** host:port actually bound. */
  address: string;
  /** The address registered at the clearinghouse (advertiseAddress or the bound one). */
  advertisedAddress: string;
  /** The contact point's public key. */
  publicKey: Uint8Array;
  /** Bytes served per transfer and per gateway (for the billing issue). */
  meter: TransferMeter;
  /** Registration at the clearinghouse (last success / error). */
  registration: Registration;
  stop(): Promise<void>;
}

/**
 * Starts a contact point: binds the ContactPoint service, then registers at
 * the clearinghouse (in the background; failures are logged and retried,
 * never fatal). The grid connection opens on the first request.
 * @throws ConfigError / InvalidArgumentError for unreadable key or certificate files; the bind error when the address is taken.
 */
export async function startContactPoint(config: ContactPointConfig, opts: StartContactPointOptions = {}): Promise<RunningContactPoint> {
  const logger = opts.logger ?? pino({ name: config.name ?? 'contact-point' }, pino.destination(2));
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
  const meter = new TransferMeter(100_000, now);
  const onInternal = (err: unknown, method: string): void => logger.error({ err, method }, 'internal error');
  const handlers = contactPointHandlers({
    areaCode: config.areaCode,
    acquireGrid: () => home.acquire(),
    meter,
    maxConcurrentFetches: config.maxConcurrentFetches,
    onInternal,
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
    maxSkewMs: config.maxClockSkewMs,
    onInternalError: onInternal,
    ...(opts.now ? { now: opts.now } : {}),
  };
  const server = securedServer(contactPointProto().intergrid.contactpoint.ContactPoint.service, handlers, policy, {
    options: { 'grpc.max_send_message_length': CONTACT_POINT_MESSAGE_LIMIT },
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  });
  let address: string;
  try {
    address = (await bindServer(server, config.listen)).address;
  } catch (err) {
    server.forceShutdown();
    home.close();
    throw err;
  }
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
    meter,
    registration,
    stop() {
      stopping ??= (async () => {
        await registration.stop();
        await stopServer(server);
        home.close();
        logger.info({ address }, 'contact point stopped');
      })();
      return stopping;
    },
  };
}
