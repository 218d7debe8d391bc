/**
 * The one way a gRPC client is built (STYLE.md §5): a TLS channel pinned to
 * the peer's Ed25519 key (libs/tls) and, for authenticated services, the
 * signing interceptor with that same key as the request's target. Pin and
 * target come from one `peer` record, so a client can never sign for one
 * server while talking to another.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../rpc/index.js';
import { pinnedChannelCredentials, unpinnedChannelCredentials, TLS_CHANNEL_OPTIONS } from '../tls/index.js';
import { authInterceptor } from './client-interceptor.js';
import type { Identity } from './types.js';

/** Where a service is and the identity key that pins it (as every directory, resolution, config and invite names it). */
export interface Peer {
  address: string;
  publicKey: Uint8Array;
}

export interface ClientOptions {
  /** Channel options over CHANNEL_OPTIONS (e.g. a larger receive limit). */
  channelOptions?: grpc.ChannelOptions;
  /** Clock for request timestamps (tests). */
  now?: () => number;
  /** Interceptors run after signing, closest to the wire (tests record what is sent with them). */
  interceptors?: grpc.Interceptor[];
}

/** A grpc-js service client constructor (what loadPackageDefinition gives). */
export type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;

/**
 * A client of `peer` over pinned TLS whose every call is signed as
 * `identity` for `peer.publicKey`.
 * @example const storage = securedClient<StorageClient>(storageProto().intergrid.storage.Storage, server, identity)
 * @throws InvalidArgumentError for a malformed key or identity.
 */
export function securedClient<T extends grpc.Client>(Ctor: ClientConstructor, peer: Peer, identity: Identity | (() => Identity), opts: ClientOptions = {}): T {
  return new Ctor(peer.address, pinnedChannelCredentials(peer.publicKey), {
    ...CHANNEL_OPTIONS,
    ...TLS_CHANNEL_OPTIONS,
    ...opts.channelOptions,
    interceptors: [authInterceptor(identity, { target: peer.publicKey, ...(opts.now ? { now: opts.now } : {}) }), ...(opts.interceptors ?? [])],
  }) as T;
}

/**
 * A client of `peer` over pinned TLS without request signatures: for the
 * calls that authenticate themselves (invite redemption) and for probes.
 * @throws InvalidArgumentError for a malformed key.
 */
export function pinnedClient<T extends grpc.Client>(Ctor: ClientConstructor, peer: Peer, opts: Pick<ClientOptions, 'channelOptions' | 'interceptors'> = {}): T {
  return new Ctor(peer.address, pinnedChannelCredentials(peer.publicKey), {
    ...CHANNEL_OPTIONS,
    ...TLS_CHANNEL_OPTIONS,
    ...opts.channelOptions,
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  }) as T;
}

/**
 * A client for grpc.health.v1 probes of an address (`intergrid health`,
 * container health checks): TLS pinned to `publicKey` when it is known,
 * otherwise TLS without a pin (libs/tls unpinnedChannelCredentials: a health
 * answer carries nothing secret and decides only the probe's exit code).
 * Never for calls whose answer is trusted.
 * @throws InvalidArgumentError for a malformed key.
 */
export function probeClient<T extends grpc.Client>(Ctor: ClientConstructor, address: string, publicKey?: Uint8Array): T {
  if (publicKey) return pinnedClient<T>(Ctor, { address, publicKey });
  return new Ctor(address, unpinnedChannelCredentials(), { ...CHANNEL_OPTIONS, ...TLS_CHANNEL_OPTIONS }) as T;
}
