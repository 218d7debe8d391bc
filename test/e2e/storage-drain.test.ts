/**
 * SIGTERM drains a storage server run as `intergrid serve storage` (the built
 * CLI): a 64 MiB download in flight when the signal arrives completes with
 * every byte, health turns NOT_SERVING, a new call is refused with
 * 'draining', and the process exits 0 once the download is done.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { serveBuilt, type ServedProcess } from './fixtures/built-cli.js';
import { StoragePeerForTests, patternBytes, storageIndex, type ReadChunk } from '../unit/storage/storage-fixture.js';
import { securedClient, issueCertificate, writeCertificateFile, writeKeyFile } from '../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { deadline, storageProto } from '../../libs/rpc/index.js';
import { unpinnedChannelCredentials } from '../../libs/tls/index.js';
import type { StorageClient } from '../../libs/rpc/proto-types.js';

const AREA = '101';
const SHARE_BYTES = 64 * 1024 * 1024;

type HealthClient = grpc.Client & {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
};

function healthStatus(address: string): Promise<string> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthClient } } };
  };
  const c = new pkg.grpc.health.v1.Health(address, unpinnedChannelCredentials());
  return new Promise<string>((resolve, reject) =>
    c.Check({ service: '' }, { deadline: deadline(5000) }, (err, res) => {
      c.close();
      if (err || !res) reject(err);
      else resolve(res.status);
    }),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'intergrid-drain-'));
let served: ServedProcess | undefined;
afterAll(async () => {
  await served?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('intergrid serve storage: SIGTERM drains', () => {
  it('finishes a 64 MiB download in flight at SIGTERM, refuses new calls, exits 0', async () => {
    const gm = generateKeyPair();
    const key = generateKeyPair();
    const now = Date.now();
    const cert = (role: 'storage-server' | 'client', subject: Uint8Array) =>
      issueCertificate(gm, { role, subject, grid: AREA, notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} });
    writeKeyFile(join(dir, 'key.json'), key);
    writeCertificateFile(join(dir, 'certificate.b64'), cert('storage-server', key.publicKey));
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        listen: '127.0.0.1:0',
        dataDir: './data',
        keyFile: './key.json',
        certificateFile: './certificate.b64',
        gridManager: { address: '127.0.0.1:1', publicKey: toHex(gm.publicKey) },
      }),
    );
    served = await serveBuilt('storage', configPath);
    const child = served.child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const clientKey = generateKeyPair();
    const Ctor = storageProto().intergrid.storage.Storage;
    const raw = securedClient<StorageClient>(Ctor, { address: served.address, publicKey: key.publicKey }, { keyPair: clientKey, certificates: [cert('client', clientKey.publicKey)] });
    const client = new StoragePeerForTests(raw);
    try {
      expect(await healthStatus(served.address)).toBe('SERVING');
      const si = storageIndex(64);
      const bytes = patternBytes(SHARE_BYTES, 64);
      await client.allocate(si, [0], bytes.length);
      await client.write(si, 0, bytes, { chunkSize: 1024 * 1024 });

      // A slow consumer: paused after the first chunk, resumed once the drain is observed.
      const chunks: ReadChunk[] = [];
      const stream = raw.ReadShare({ storageIndex: si, shareNumber: 0, ranges: [{ offset: 0, length: bytes.length }] }, { deadline: deadline(120_000) });
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

      child.kill('SIGTERM');
      // The signal is handled asynchronously in the child: poll until health reports the drain.
      let status = 'SERVING';
      for (let i = 0; i < 50 && status === 'SERVING'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await healthStatus(served.address);
      }
      expect(status).toBe('NOT_SERVING');
      await expect(client.stats()).rejects.toMatchObject({ message: expect.stringContaining('draining') });
      expect(child.exitCode).toBeNull(); // still draining: the paused download holds it

      stream.resume();
      await ended;
      const got = Buffer.concat(chunks.map((c) => c.data));
      expect(got.length).toBe(bytes.length);
      expect(Buffer.compare(got, Buffer.from(bytes))).toBe(0);
      expect(await exited).toBe(0);
    } finally {
      raw.close();
    }
  }, 120_000);
});
