/**
 * Who may use a grid, checked end to end against real services: a client the
 * grid manager never approved, an expired certificate, a replayed request and
 * a certificate of the wrong role are each refused with their own status,
 * by the storage servers and by the grid manager alike.
 */
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, pinnedClient, readKeyFile, securedClient, type Identity } from '../../libs/auth/index.js';
import { generateKeyPair, randomBytes, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { storageProto } from '../../libs/rpc/index.js';
import { AuthenticationError } from '../../libs/errors/index.js';
import { connectGrid, type ClientConfig } from '../../libs/client/index.js';
import { encodeCertificateBase64 } from '../../libs/auth/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

let grid: LocalGrid;
let gridKey: KeyPair;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 3, encoding: { happy: 3 } });
  gridKey = readKeyFile(join(grid.dir, 'grid-manager', 'grid-key.json'));
});
afterAll(async () => grid?.stop());

type Callback = (err: grpc.ServiceError | null) => void;
interface Stub {
  ListShares(req: object, ...rest: [grpc.Metadata, grpc.CallOptions, Callback] | [grpc.CallOptions, Callback]): void;
  AllocateBuckets(req: object, options: grpc.CallOptions, cb: Callback): void;
}

/** A raw Storage stub for server `i` with the given interceptors. */
/** A Storage stub of server `i` over pinned TLS, signing as `identity` (none: unsigned), then running `interceptors`. */
function storageStub(i: number, identity: Identity | undefined, interceptors: grpc.Interceptor[] = []): Stub {
  const Storage = storageProto().intergrid.storage.Storage;
  const server = grid.servers[i]!;
  return (identity ? securedClient(Storage, server, identity, { interceptors }) : pinnedClient(Storage, server, { interceptors })) as unknown as Stub;
}

/** Calls ListShares; resolves with the gRPC status code (0 on success) and the message. */
function listShares(stub: Stub, metadata = new grpc.Metadata()): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    stub.ListShares({ storageIndex: randomBytes(16) }, metadata, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) =>
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
    );
  });
}

function identityWith(key: KeyPair, issuer: KeyPair, body: { role: 'client' | 'storage-server'; notBefore?: number; notAfter?: number }): Identity {
  const now = Date.now();
  const cert = issueCertificate(issuer, {
    role: body.role,
    subject: key.publicKey,
    grid: grid.areaCode,
    notBefore: body.notBefore ?? now - 60_000,
    notAfter: body.notAfter ?? now + 3_600_000,
    limits: body.role === 'client' ? { quota_bytes: 0 } : {},
  });
  return { keyPair: key, certificates: [cert] };
}

describe('grid access', () => {
  it('accepts a client certified by the grid manager', async () => {
    const key = generateKeyPair();
    const res = await listShares(storageStub(0, identityWith(key, gridKey, { role: 'client' })));
    expect(res.code).toBe(grpc.status.OK);
  });

  it('refuses a client whose certificate the grid manager never signed (UNAUTHENTICATED)', async () => {
    const key = generateKeyPair();
    const selfSigned = identityWith(key, generateKeyPair(), { role: 'client' });
    const res = await listShares(storageStub(0, selfSigned));
    expect(res.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.details).toMatch(/issuer|trusted/i);

    // The grid manager refuses it too, so connecting to the grid fails before any upload.
    const config: ClientConfig = {
      ...grid.clientConfig,
      publicKey: toHex(key.publicKey),
      secretKey: toHex(key.secretKey),
      certificate: encodeCertificateBase64(selfSigned.certificates[0]!),
    };
    const err = await connectGrid(config).then(
      (c) => (c.close(), undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(/issuer|trusted/i);
  });

  it('refuses an expired certificate (UNAUTHENTICATED, says expired)', async () => {
    const key = generateKeyPair();
    const now = Date.now();
    const expired = identityWith(key, gridKey, { role: 'client', notBefore: now - 7_200_000, notAfter: now - 3_600_000 });
    const res = await listShares(storageStub(1, expired));
    expect(res.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.details).toMatch(/expired/i);
  });

  it('refuses a replayed request (UNAUTHENTICATED, says replayed)', async () => {
    const identity = identityWith(generateKeyPair(), gridKey, { role: 'client' });
    let recorded: grpc.Metadata | undefined;
    // Runs inside the auth interceptor, so it sees the signed metadata as sent.
    const recorder: grpc.Interceptor = (options, next) =>
      new grpc.InterceptingCall(next(options), {
        start(metadata, listener, nextStart) {
          recorded = metadata.clone();
          nextStart(metadata, listener);
        },
      });
    const storageIndex = randomBytes(16);
    const first = storageStub(2, identity, [recorder]);
    const ok = await new Promise<number>((resolve) =>
      first.ListShares({ storageIndex }, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0)),
    );
    expect(ok).toBe(grpc.status.OK);
    expect(recorded).toBeDefined();

    // Same bytes, same metadata (nonce, timestamp, signature), sent again without re-signing.
    const replay = storageStub(2, undefined);
    const code = await new Promise<{ code: number; details: string }>((resolve) =>
      replay.ListShares({ storageIndex }, recorded!, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
      ),
    );
    expect(code.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(code.details).toMatch(/replay/i);
  });

  it('refuses a storage-server certificate used for a client call (PERMISSION_DENIED)', async () => {
    const serverKey = readKeyFile(join(grid.servers[0]!.dataDir, '..', 'key.json'));
    const asServer = identityWith(serverKey, gridKey, { role: 'storage-server' });
    const stub = storageStub(1, asServer);
    const res = await new Promise<{ code: number; details: string }>((resolve) =>
      stub.AllocateBuckets(
        { storageIndex: randomBytes(16), shareNumbers: [0], shareSize: 100 },
        { deadline: Date.now() + 10_000 },
        (err: grpc.ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
      ),
    );
    expect(res.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.details).toMatch(/role/i);
  });
});
