/**
 * A client's connection to its home grid, built from a ClientConfig: the
 * client identity (key pair + certificate), the verified server directory
 * fetched from the grid manager, and one authenticated Storage stub per
 * server. Everything the uploader, downloader and checker need, in one
 * object with one close().
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, storageProto } from '../rpc/index.js';
import { authInterceptor, decodeCertificateBase64, type Identity } from '../auth/index.js';
import { keyPairFromSecret, fromHex, toHex } from '../crypto/index.js';
import { ConfigError } from '../errors/index.js';
import { connectGridManager } from '../../services/grid-manager/index.js';
import type { ClientConfig } from './client-config.js';
import { StoragePeer } from './storage-peer.js';

/** What the caller can tune about the connection. */
export interface GridConnectionOptions {
  /** Only talk to servers with these names (tests, debugging). */
  onlyServers?: readonly string[];
}

export interface GridConnection {
  readonly config: ClientConfig;
  /** The home grid's area code (caps made here carry it). */
  readonly areaCode: string;
  readonly identity: Identity;
  /** Storage servers of the verified directory, in directory order. */
  readonly servers: readonly StoragePeer[];
  /** Closes every channel. Idempotent. */
  close(): void;
}

/** Builds the client identity from its config, checking the key pair is consistent. */
export function clientIdentity(config: ClientConfig): Identity {
  const keyPair = keyPairFromSecret(fromHex(config.secretKey));
  if (toHex(keyPair.publicKey) !== config.publicKey) {
    throw new ConfigError(`client config: publicKey ${config.publicKey} does not match secretKey (derived ${toHex(keyPair.publicKey)})`);
  }
  let certificate;
  try {
    certificate = decodeCertificateBase64(config.certificate);
  } catch (err) {
    throw new ConfigError(`client config: certificate: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { keyPair, certificates: [certificate] };
}

/** Opens one authenticated Storage stub. */
export function openStoragePeer(identity: Identity, server: { name: string; publicKey: Uint8Array; address: string }): StoragePeer {
  const Storage = storageProto().intergrid.storage.Storage;
  const client = new Storage(server.address, grpc.credentials.createInsecure(), {
    ...CHANNEL_OPTIONS,
    interceptors: [authInterceptor(identity)],
  });
  return new StoragePeer(server.name, toHex(server.publicKey), server.publicKey, server.address, client);
}

/**
 * Connects to the home grid: fetches and verifies the grid manager's signed
 * directory (against the grid manager key pinned in the config) and opens a
 * channel to each listed storage server. Channels connect lazily, so a dead
 * server costs nothing until it is called.
 * @throws ConfigError for an inconsistent config; UnavailableError / AuthenticationError from the grid manager.
 */
export async function connectGrid(config: ClientConfig, opts: GridConnectionOptions = {}): Promise<GridConnection> {
  const identity = clientIdentity(config);
  const manager = connectGridManager(config.gridManager.address, identity, { gridManagerPublicKey: fromHex(config.gridManager.publicKey) });
  let directory;
  try {
    directory = await manager.getDirectory();
  } finally {
    manager.close();
  }
  if (directory.areaCode !== config.areaCode) {
    throw new ConfigError(`client config: areaCode ${config.areaCode} but the grid manager's directory is for area ${directory.areaCode}`);
  }
  const listed = opts.onlyServers ? directory.servers.filter((s) => opts.onlyServers!.includes(s.name)) : directory.servers;
  const servers = listed.map((s) => openStoragePeer(identity, s));
  let closed = false;
  return {
    config,
    areaCode: config.areaCode,
    identity,
    servers,
    close() {
      if (closed) return;
      closed = true;
      for (const s of servers) s.close();
    },
  };
}
