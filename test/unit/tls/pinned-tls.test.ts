/**
 * TLS on a real gRPC server (127.0.0.1:0): the self-signed certificate carries
 * the service's Ed25519 key, a pinned client reaches only the server with the
 * pinned key, and neither side falls back to plaintext.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service as healthService } from 'grpc-health-check';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { bindServer, operableServer, stopServer, CHANNEL_OPTIONS } from '../../../libs/rpc/index.js';
import {
  ed25519Spki,
  pinnedChannelCredentials,
  selfSignedTlsCertificate,
  tlsPinOf,
  unpinnedChannelCredentials,
  TLS_CHANNEL_OPTIONS,
} from '../../../libs/tls/index.js';
import { echoService } from '../../fixtures/echo-service.js';

interface HealthClient extends grpc.Client {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): grpc.ClientUnaryCall;
}
const Health = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
) => HealthClient;

function check(credentials: grpc.ChannelCredentials, addr: string): Promise<{ code: number; details: string }> {
  const c = new Health(addr, credentials, { ...CHANNEL_OPTIONS, ...TLS_CHANNEL_OPTIONS });
  return new Promise((resolve) =>
    c.Check({ service: '' }, { deadline: Date.now() + 5000 }, (err) => {
      c.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
    }),
  );
}

const key = generateKeyPair();
let server: grpc.Server;
let address: string;

beforeAll(async () => {
  server = operableServer(echoService().service);
  address = (await bindServer(server, '127.0.0.1:0', key)).address;
});

afterAll(async () => {
  await stopServer(server, 500);
});

describe('the self-signed certificate', () => {
  it('carries the service key, signed by that key, and its pin is SHA-256 of the key info (computed independently)', () => {
    const cert = new X509Certificate(selfSignedTlsCertificate(key).certPem);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(Buffer.compare(spki, ed25519Spki(key.publicKey))).toBe(0);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe('CN=intergrid');
    expect(tlsPinOf(key.publicKey)).toBe(createHash('sha256').update(spki).digest('hex'));
  });

  it('is what the server presents in its handshake', async () => {
    const presented = await new Promise<X509Certificate>((resolve, reject) => {
      const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
      const s = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: 'intergrid' }, () => {
        const c = s.getPeerX509Certificate();
        s.destroy();
        if (c) resolve(c);
        else reject(new Error('no certificate'));
      });
      s.on('error', reject);
    });
    expect(createHash('sha256').update(presented.publicKey.export({ type: 'spki', format: 'der' })).digest('hex')).toBe(tlsPinOf(key.publicKey));
  });
});

describe('pinned channels', () => {
  it('reach the server whose key is pinned', async () => {
    expect((await check(pinnedChannelCredentials(key.publicKey), address)).code).toBe(grpc.status.OK);
  });

  it('refuse a server with another key: UNAVAILABLE naming the address and both pins', async () => {
    const wrong = generateKeyPair().publicKey;
    const res = await check(pinnedChannelCredentials(wrong), address);
    expect(res.code).toBe(grpc.status.UNAVAILABLE);
    expect(res.details).toContain(`TLS key of ${address}`);
    expect(res.details).toContain(tlsPinOf(key.publicKey));
    expect(res.details).toContain(tlsPinOf(wrong));
    expect(res.details).toContain(toHex(wrong).slice(0, 16));
  });

  it('never fall back to plaintext: a pinned client cannot talk to a plaintext server', async () => {
    const plain = operableServer(echoService().service);
    const port = await new Promise<number>((resolve, reject) =>
      plain.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      expect((await check(pinnedChannelCredentials(key.publicKey), `127.0.0.1:${port}`)).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      plain.forceShutdown();
    }
  });

  it('a plaintext client cannot talk to the server', async () => {
    expect((await check(grpc.credentials.createInsecure(), address)).code).toBe(grpc.status.UNAVAILABLE);
  });

  it('an unpinned TLS client (health probes only) reaches it', async () => {
    expect((await check(unpinnedChannelCredentials(), address)).code).toBe(grpc.status.OK);
  });
});
