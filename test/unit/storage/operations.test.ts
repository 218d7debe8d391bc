/**
 * Health, reflection and drain on a real storage server (127.0.0.1:0): the
 * health and reflection services answer without any request signature; while
 * stop() drains, health says NOT_SERVING and new calls are refused with
 * UNAVAILABLE 'draining', while a slow in-flight download finishes with all
 * its bytes. On SQLite and PostgreSQL (test/fixtures/database-backends.ts).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { StorageFixture, patternBytes, storageIndex, type ReadChunk, type StoragePeerForTests } from './storage-fixture.js';
import { deadline } from '../../../libs/rpc/index.js';
import { pinnedClient } from '../../../libs/auth/index.js';
import { unpinnedChannelCredentials, TLS_CHANNEL_OPTIONS } from '../../../libs/tls/index.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

const SERVICE = 'intergrid.storage.Storage';
const SHARE_BYTES = 16 * 1024 * 1024;

interface HealthClient extends grpc.Client {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): grpc.ClientUnaryCall;
}
interface ReflectionClient extends grpc.Client {
  ServerReflectionInfo(): grpc.ClientDuplexStream<{ listServices: string }, { listServicesResponse?: { service: { name: string }[] } }>;
}

function loadGrpc(file: string, includeDirs: string[] = []): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: false, enums: String, defaults: true, oneofs: true, includeDirs }));
}

/** A plain client: no auth interceptor, no signature. */
function healthClient(address: string): HealthClient {
  const pkg = loadGrpc(healthProtoPath) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => HealthClient } } } };
  return new pkg.grpc.health.v1.Health(address, unpinnedChannelCredentials(), TLS_CHANNEL_OPTIONS);
}

function reflectionClient(address: string): ReflectionClient {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
  const pkg = loadGrpc(join(root, 'grpc/reflection/v1/reflection.proto'), [root]) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => ReflectionClient } } };
  };
  return new pkg.grpc.reflection.v1.ServerReflection(address, unpinnedChannelCredentials(), TLS_CHANNEL_OPTIONS);
}

function check(c: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => c.Check({ service }, { deadline: deadline(5000) }, (err, res) => (err || !res ? reject(err) : resolve(res.status))));
}

let f: StorageFixture;
let client: StoragePeerForTests;
const plain: grpc.Client[] = [];

for (const backend of databaseBackends('storage-ops')) describe(`operations: health, reflection, drain on ${backend.name}`, () => {
  beforeAll(async () => {
    await backend.setup();
    f = new StorageFixture({ database: await backend.fresh() });
    await f.start();
    client = f.client(f.identity('client', undefined, { quota_bytes: 2 * SHARE_BYTES }));
  }, BACKEND_SETUP_MS);
  afterAll(async () => {
    for (const c of plain.splice(0)) c.close();
    await f?.cleanup();
    await backend.teardown();
  });

  it('health answers SERVING after start, for "" and the service name, without a signature', async () => {
    const h = healthClient(f.server!.address);
    plain.push(h);
    expect(await check(h, '')).toBe('SERVING');
    expect(await check(h, SERVICE)).toBe('SERVING');
    await expect(check(h, 'no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('reflection lists the service without a signature', async () => {
    const r = reflectionClient(f.server!.address);
    plain.push(r);
    const names = await new Promise<string[]>((resolve, reject) => {
      const s = r.ServerReflectionInfo();
      s.on('data', (res: { listServicesResponse?: { service: { name: string }[] } }) => {
        resolve((res.listServicesResponse?.service ?? []).map((x) => x.name));
        s.end();
      });
      s.on('error', reject);
      s.write({ listServices: '' });
    });
    expect(names).toContain(SERVICE);
  });

  it('the service itself still requires a signature', async () => {
    const Ctor = grpc.makeGenericClientConstructor({}, 'x');
    const raw = pinnedClient(Ctor, f.server!);
    plain.push(raw);
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest(`/${SERVICE}/Stats`, () => Buffer.alloc(0), (b: Buffer) => b, {}, (e) => resolve(e!)),
    );
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('stop drains: NOT_SERVING, new calls refused, a slow in-flight download completes with all its bytes', async () => {
    const si = storageIndex(42);
    const bytes = patternBytes(SHARE_BYTES, 42);
    await client.allocate(si, [0], bytes.length);
    await client.write(si, 0, bytes, { chunkSize: 1024 * 1024 });

    const h = healthClient(f.server!.address);
    plain.push(h);
    const server = f.server!;

    // A slow consumer: paused after the first chunk until the drain is observed.
    const chunks: ReadChunk[] = [];
    const stream = client.raw.ReadShare({ storageIndex: si, shareNumber: 0, ranges: [{ offset: 0, length: bytes.length }] }, { deadline: deadline(60_000) });
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    ended.catch(() => undefined); // reported where it is awaited, not as an unhandled rejection
    await new Promise<void>((resolve) =>
      stream.once('data', (c: ReadChunk) => {
        chunks.push(c);
        stream.pause();
        resolve();
      }),
    );
    stream.on('data', (c: ReadChunk) => chunks.push(c));

    let stopped = false;
    const stopping = server.stop().then(() => (stopped = true));

    expect(await check(h, '')).toBe('NOT_SERVING');
    expect(await check(h, SERVICE)).toBe('NOT_SERVING');
    await expect(client.stats()).rejects.toMatchObject({ message: expect.stringContaining('draining') });
    await new Promise((r) => setTimeout(r, 300));
    expect(stopped).toBe(false); // the paused download holds the drain open

    stream.resume();
    await ended;
    const got = Buffer.concat(chunks.map((c) => c.data));
    expect(got.length).toBe(bytes.length);
    expect(Buffer.compare(got, Buffer.from(bytes))).toBe(0);
    await stopping;
    expect(stopped).toBe(true);
  }, 60_000);
});
