/**
 * Test fixture for the storage server: a real server on 127.0.0.1:0 with a
 * real SQLite file and data dir under a tmp dir, real certificates signed by
 * a test grid-manager key, and small promise helpers over the gRPC stub.
 * No grid manager runs: the grid link must tolerate its absence.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { storageProto, call, deadline, fromServiceError } from '../../../libs/rpc/index.js';
import { securedClient, issueCertificate, type Identity, type Role } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { resolveStorageConfig, startStorageServer, type RunningStorageServer, type StorageConfig } from '../../../services/storage/index.js';
import type { StorageClient, AllocateBucketsRequest, AllocateBucketsResponse__Output, ListSharesRequest, ListSharesResponse__Output, RenewLeaseRequest, RenewLeaseResponse__Output, AbortSharesRequest, StatsResponse__Output, WriteShareResponse__Output, WriteShareRequest, Empty, Empty__Output } from '../../../libs/rpc/proto-types.js';

export const AREA = '101';

/** A mutable clock shared by the server (leases) and the test. */
export class TestClock {
  offsetMs = 0;
  now = (): number => Date.now() + this.offsetMs;
}

export class StorageFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'intergrid-storage-'));
  readonly gridManager: KeyPair = generateKeyPair();
  readonly serverKey: KeyPair = generateKeyPair();
  readonly clock = new TestClock();
  server: RunningStorageServer | undefined;
  private readonly clients: StorageClient[] = [];

  constructor(private readonly overrides: Partial<Record<string, unknown>> = {}) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  config(): StorageConfig {
    return resolveStorageConfig({
      listen: '127.0.0.1:0',
      dataDir: this.dataDir,
      // Nothing listens here: the grid link logs and retries, never fails the server.
      gridManager: { address: '127.0.0.1:1', publicKey: toHex(this.gridManager.publicKey) },
      keyFile: join(this.dir, 'key.json'),
      certificateFile: join(this.dir, 'certificate.b64'),
      ...this.overrides,
    });
  }

  /** Starts (or restarts) the server on the same data dir and database. */
  async start(): Promise<RunningStorageServer> {
    const identity = this.identity('storage-server', this.serverKey);
    this.server = await startStorageServer(this.config(), { logger: pino({ level: 'silent' }), now: this.clock.now, identity });
    return this.server;
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    await this.server?.stop();
    this.server = undefined;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** An identity holding one certificate of `role` signed by the test grid manager. */
  identity(role: Role, keyPair: KeyPair = generateKeyPair(), limits: Record<string, number> = {}, issuer: KeyPair = this.gridManager): Identity {
    const now = Date.now();
    const cert = issueCertificate(issuer, { role, subject: keyPair.publicKey, grid: AREA, notBefore: now - 60_000, notAfter: now + 3_600_000, limits });
    return { keyPair, certificates: [cert] };
  }

  /** A Storage client for the running server, signing as `identity`. */
  client(identity: Identity): StoragePeerForTests {
    if (!this.server) throw new Error('server not started');
    const Ctor = storageProto().intergrid.storage.Storage;
    const c = securedClient<StorageClient>(Ctor, this.server, identity);
    this.clients.push(c);
    return new StoragePeerForTests(c);
  }
}

export interface ReadChunk {
  rangeIndex: number;
  offset: number;
  data: Buffer;
}

/** Promise helpers over the generated stub (errors become domain errors, as the real client sees them). */
export class StoragePeerForTests {
  constructor(readonly raw: StorageClient) {}

  allocate(storageIndex: Uint8Array, shareNumbers: number[], shareSize: number, replace: number[] = []): Promise<AllocateBucketsResponse__Output> {
    return call<AllocateBucketsRequest, AllocateBucketsResponse__Output>(this.raw, this.raw.AllocateBuckets, { storageIndex, shareNumbers, shareSize, replace });
  }

  list(storageIndex: Uint8Array): Promise<ListSharesResponse__Output> {
    return call<ListSharesRequest, ListSharesResponse__Output>(this.raw, this.raw.ListShares, { storageIndex });
  }

  renew(storageIndex: Uint8Array): Promise<RenewLeaseResponse__Output> {
    return call<RenewLeaseRequest, RenewLeaseResponse__Output>(this.raw, this.raw.RenewLease, { storageIndex });
  }

  abort(storageIndex: Uint8Array, shareNumbers: number[]): Promise<Empty__Output> {
    return call<AbortSharesRequest, Empty__Output>(this.raw, this.raw.AbortShares, { storageIndex, shareNumbers });
  }

  stats(): Promise<StatsResponse__Output> {
    return call<Empty, StatsResponse__Output>(this.raw, this.raw.Stats, {});
  }

  /** Opens a WriteShare stream; `done` settles with the server's answer. */
  openWrite(storageIndex: Uint8Array, shareNumber: number, shareSize: number): { stream: grpc.ClientWritableStream<WriteShareRequest>; done: Promise<WriteShareResponse__Output> } {
    let stream!: grpc.ClientWritableStream<WriteShareRequest>;
    const done = new Promise<WriteShareResponse__Output>((resolve, reject) => {
      stream = this.raw.WriteShare((err, res) => (err || !res ? reject(fromServiceError(err)) : resolve(res)));
    });
    // Keep unhandled-rejection noise out when a test only inspects part of the outcome.
    done.catch(() => undefined);
    stream.write({ header: { storageIndex, shareNumber, shareSize } });
    return { stream, done };
  }

  /** Writes a whole share in `chunkSize` pieces (or `bytes` as given) and half-closes. */
  async write(storageIndex: Uint8Array, shareNumber: number, bytes: Uint8Array, opts: { declaredSize?: number; chunkSize?: number } = {}): Promise<WriteShareResponse__Output> {
    const { stream, done } = this.openWrite(storageIndex, shareNumber, opts.declaredSize ?? bytes.length);
    const chunk = opts.chunkSize ?? 64 * 1024;
    for (let i = 0; i < bytes.length; i += chunk) stream.write({ data: bytes.subarray(i, i + chunk) });
    stream.end();
    return done;
  }

  /** Reads ranges; resolves with every chunk in arrival order. */
  readChunks(storageIndex: Uint8Array, shareNumber: number, ranges: { offset: number; length: number }[]): Promise<ReadChunk[]> {
    return new Promise((resolve, reject) => {
      const chunks: ReadChunk[] = [];
      const s = this.raw.ReadShare({ storageIndex, shareNumber, ranges }, { deadline: deadline(30_000) });
      s.on('data', (c: ReadChunk) => chunks.push(c));
      s.on('error', (e) => reject(fromServiceError(e)));
      s.on('end', () => resolve(chunks));
    });
  }

  /** Reads ranges and reassembles one buffer per range. */
  async read(storageIndex: Uint8Array, shareNumber: number, ranges: { offset: number; length: number }[]): Promise<Buffer[]> {
    const chunks = await this.readChunks(storageIndex, shareNumber, ranges);
    return ranges.map((_, i) => Buffer.concat(chunks.filter((c) => c.rangeIndex === i).map((c) => c.data)));
  }
}

/** Deterministic pseudo-random bytes (a tiny xorshift), so failures are reproducible. */
export function patternBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function storageIndex(seed: number): Uint8Array {
  return patternBytes(16, seed + 1000);
}
