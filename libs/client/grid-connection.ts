/**
 * A member's connection to its home grid (connectGridAs; connectGrid builds
 * it from a client's ClientConfig): the identity (key pair + certificate),
 * the verified server directory
 * fetched from the grid manager, and one authenticated Storage stub per
 * server. Everything the uploader, downloader and checker need, in one
 * object with one close().
 */
import { storageProto } from '../rpc/index.js';
import type { StorageClient } from '../rpc/proto-types.js';
import { securedClient, decodeCertificateBase64, encodeCertificateBase64, type Certificate, type Identity } from '../auth/index.js';
import { keyPairFromSecret, fromHex, toHex } from '../crypto/index.js';
import { ConfigError } from '../errors/index.js';
import { connectGridManager, type Directory, type GridManagerConnection } from '../grid/index.js';
import type { ClientConfig } from './client-config.js';
import { StoragePeer } from './storage-peer.js';

/** What the caller can tune about the connection. */
export interface GridConnectionOptions {
  /** Only talk to servers with these names (tests, debugging). */
  onlyServers?: readonly string[];
  /** Receives a renewed certificate (base64) so the caller can persist it in client.json. */
  onCertificateRenewed?(certificateBase64: string): void;
  /** Clock (Unix ms), for tests. */
  now?: () => number;
}

/**
 * A member's connection to its own grid, whatever its role: what
 * `connectGridAs` returns (the contact point uses it with its own identity).
 * Downloads (`ciphertextSegments`) need only this.
 */
export interface GridSession {
  /** The home grid's area code (caps made here carry it). */
  readonly areaCode: string;
  /** The client identity (its certificate renewed if it was close to expiry). */
  readonly identity: Identity;
  /** The grid manager client (same identity). */
  readonly manager: GridManagerConnection;
  /** The verified directory the servers came from. */
  readonly directory: Directory;
  /** Storage servers of the verified directory, in directory order. */
  readonly servers: readonly StoragePeer[];
  /** Closes every channel. Idempotent. */
  close(): void;
}

/** What reading, checking and repairing files needs of a session: the home area code and its storage servers. */
export type StorageSession = Pick<GridSession, 'areaCode' | 'servers'>;

/** A client's connection to its home grid: a GridSession plus the client config (encoding, convergence). */
export interface GridConnection extends GridSession {
  readonly config: ClientConfig;
}

/** Who connects and to which grid (for `connectGridAs`). */
export interface GridMember {
  /** Key pair + the certificate(s) its grid manager issued (the first is renewed when due). */
  identity: Identity;
  /** The grid's area code; the directory must be for this area. */
  areaCode: string;
  /** The grid manager's address and the key that must have signed the directory. */
  gridManager: { address: string; publicKey: Uint8Array };
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
  const client = securedClient<StorageClient>(Storage, server, identity);
  return new StoragePeer(server.name, toHex(server.publicKey), server.publicKey, server.address, client);
}

/**
 * Connects to the home grid as the client described by `config`
 * (see `connectGridAs`).
 * @throws ConfigError for an inconsistent config; UnavailableError / AuthenticationError from the grid manager.
 */
export async function connectGrid(config: ClientConfig, opts: GridConnectionOptions = {}): Promise<GridConnection> {
  const session = await connectGridAs(
    { identity: clientIdentity(config), areaCode: config.areaCode, gridManager: { address: config.gridManager.address, publicKey: fromHex(config.gridManager.publicKey) } },
    opts,
  );
  return Object.assign(session, { config });
}

/**
 * Connects to a grid as `member` (any grid role: client, contact point…):
 * renews its certificate when it is in the last quarter of its life,
 * fetches and verifies the grid manager's signed directory (against the
 * pinned grid manager key) and opens a channel to each listed storage
 * server. Channels connect lazily, so a dead server costs nothing until it
 * is called.
 * @throws ConfigError when the directory is for another area code; UnavailableError / AuthenticationError from the grid manager.
 */
export async function connectGridAs(member: GridMember, opts: GridConnectionOptions = {}): Promise<GridSession> {
  const gridManagerPublicKey = member.gridManager.publicKey;
  let identity = member.identity;
  let manager = connectGridManager(member.gridManager.address, identity, { gridManagerPublicKey });
  let directory: Directory;
  try {
    const renewed = await renewIfDue(manager, identity, opts);
    if (renewed !== identity) {
      // The manager client signs with a fixed identity: reopen it with the fresh certificate.
      identity = renewed;
      manager.close();
      manager = connectGridManager(member.gridManager.address, identity, { gridManagerPublicKey });
    }
    directory = await manager.getDirectory();
    if (directory.areaCode !== member.areaCode) {
      throw new ConfigError(`areaCode ${member.areaCode} is configured but the grid manager's directory is for area ${directory.areaCode}`);
    }
  } catch (err) {
    manager.close();
    throw err;
  }
  const listed = opts.onlyServers ? directory.servers.filter((s) => opts.onlyServers!.includes(s.name)) : directory.servers;
  const servers = listed.map((s) => openStoragePeer(identity, s));
  let closed = false;
  return {
    areaCode: member.areaCode,
    identity,
    manager,
    directory,
    servers,
    close() {
      if (closed) return;
      closed = true;
      manager.close();
      for (const s of servers) s.close();
    },
  };
}

/**
 * Certificates are short-lived (DESIGN.md "Keys"): in the last quarter of its
 * validity the client exchanges its certificate for a fresh one and hands it
 * to `onCertificateRenewed` to persist. A failed renewal keeps the old
 * certificate while it lasts (the calls themselves will say when it expired).
 */
async function renewIfDue(manager: GridManagerConnection, identity: Identity, opts: GridConnectionOptions): Promise<Identity> {
  const cert = identity.certificates[0];
  if (!cert) return identity;
  const now = (opts.now ?? Date.now)();
  if (now >= cert.notAfter || cert.notAfter - now > (cert.notAfter - cert.notBefore) / 4) return identity;
  let fresh: Certificate;
  try {
    fresh = await manager.renewCertificate();
  } catch {
    return identity;
  }
  opts.onCertificateRenewed?.(encodeCertificateBase64(fresh));
  return { keyPair: identity.keyPair, certificates: [fresh] };
}
