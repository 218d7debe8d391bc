/**
 * Metrics and request logs of a real storage server (libs/metrics through
 * securedServer): /metrics parses as Prometheus text, its byte counters equal
 * the serialized bytes the client actually sent and received, requests are
 * counted by method and status, and the captured JSON log has one line per
 * call with a short caller key — and no key, read-cap or secret.
 */
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { securedClient, type Identity, type Peer } from '../../../libs/auth/index.js';
import { shortKey, toHex } from '../../../libs/crypto/index.js';
import { serviceLogger } from '../../../libs/metrics/index.js';
import { storageProto } from '../../../libs/rpc/index.js';
import type { StorageClient } from '../../../libs/rpc/proto-types.js';
import { startStorageServer } from '../../../services/storage/index.js';
import { StorageFixture, StoragePeerForTests, patternBytes, storageIndex } from '../storage/storage-fixture.js';
import { parsePrometheus, sum } from './prometheus-text.js';

/** A Storage client whose (de)serializers count the bytes that go on and come off the wire. */
function countingClient(server: Peer, identity: Identity): { client: StorageClient; sent: Map<string, number>; received: Map<string, number> } {
  const sent = new Map<string, number>();
  const received = new Map<string, number>();
  const counted = new WeakSet<object>();
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, attrs] of Object.entries(storageProto().intergrid.storage.Storage.service) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const method = attrs.path.slice(attrs.path.lastIndexOf('/') + 1);
    def[name] = {
      ...attrs,
      requestSerialize: (value: unknown) => {
        const bytes = attrs.requestSerialize(value);
        // The auth interceptor serializes each message once more to hash it: count each message once.
        if (typeof value === 'object' && value !== null && !counted.has(value)) {
          counted.add(value);
          sent.set(method, (sent.get(method) ?? 0) + bytes.length);
        }
        return bytes;
      },
      responseDeserialize: (bytes: Buffer) => {
        received.set(method, (received.get(method) ?? 0) + bytes.length);
        return attrs.responseDeserialize(bytes);
      },
    };
  }
  const Ctor = grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, 'Storage');
  const client = securedClient<StorageClient>(Ctor, server, identity);
  return { client, sent, received };
}

let f: StorageFixture | undefined;
let client: StorageClient | undefined;

afterEach(async () => {
  client?.close();
  await f?.cleanup();
  f = client = undefined;
});

describe('storage server metrics and request logs', () => {
  it('serves Prometheus text whose byte counters equal the bytes moved; logs one line per call without keys or caps', async () => {
    f = new StorageFixture({ metrics: { listen: '127.0.0.1:0' } });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        cb();
      },
    });
    f.server = await startStorageServer(f.config(), { logger: serviceLogger('storage', { env: { INTERGRID_LOG_LEVEL: 'info' }, destination: sink }), now: f.clock.now, identity: f.identity('storage-server', f.serverKey) });
    expect(f.server.metricsAddress).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);

    const alice = f.identity('client', undefined, { quota_bytes: 10_000_000 });
    const counting = countingClient(f.server, alice);
    client = counting.client;
    const peer = new StoragePeerForTests(client);

    const n = 300_000;
    const data = patternBytes(n, 7);
    const si = storageIndex(1);
    await peer.allocate(si, [0], n);
    await peer.write(si, 0, data, { chunkSize: 50_000 });
    const [back] = await peer.read(si, 0, [{ offset: 0, length: n }]);
    expect(Buffer.compare(back!, Buffer.from(data))).toBe(0);
    // A denied call: counted with its status, logged without a caller.
    const stranger = new StoragePeerForTests(countingClient(f.server, f.identity('gateway')).client);
    await expect(stranger.stats()).rejects.toThrow();
    stranger.raw.close();

    const res = await fetch(`http://${f.server.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await res.text());

    // Bytes: exactly what the client serialized and deserialized, per method (the stranger's Stats request is empty).
    for (const method of ['AllocateBuckets', 'WriteShare', 'ReadShare']) {
      expect(sum(samples, 'intergrid_rpc_received_bytes_total', { method: `Storage/${method}` })).toBe(counting.sent.get(method));
      expect(sum(samples, 'intergrid_rpc_sent_bytes_total', { method: `Storage/${method}` })).toBe(counting.received.get(method));
    }
    const totalSent = [...counting.sent.values()].reduce((a, b) => a + b, 0);
    const totalReceived = [...counting.received.values()].reduce((a, b) => a + b, 0);
    expect(sum(samples, 'intergrid_rpc_received_bytes_total')).toBe(totalSent);
    expect(sum(samples, 'intergrid_rpc_sent_bytes_total')).toBe(totalReceived);
    expect(totalSent).toBeGreaterThan(n);
    expect(totalReceived).toBeGreaterThan(n);

    // Requests by method and status, latency histogram, shares stored.
    expect(sum(samples, 'intergrid_rpc_requests_total', { method: 'Storage/WriteShare', code: 'OK' })).toBe(1);
    expect(sum(samples, 'intergrid_rpc_requests_total', { method: 'Storage/ReadShare', code: 'OK' })).toBe(1);
    expect(sum(samples, 'intergrid_rpc_requests_total', { method: 'Storage/Stats', code: 'PERMISSION_DENIED' })).toBe(1);
    expect(sum(samples, 'intergrid_rpc_duration_seconds_count', { method: 'Storage/ReadShare' })).toBe(1);
    expect(samples.some((s) => s.name === 'intergrid_rpc_duration_seconds_bucket' && s.labels['le'] === '+Inf')).toBe(true);
    expect(sum(samples, 'intergrid_storage_shares_stored')).toBe(1);
    expect(sum(samples, 'intergrid_storage_share_bytes_stored')).toBe(n);
    expect(samples.every((s) => s.labels['service'] === 'storage')).toBe(true);

    // Logs: one JSON line per call with method, short caller, status, duration.
    const rpc = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o['msg'] === 'rpc');
    expect(rpc.map((o) => `${String(o['method'])} ${String(o['status'])}`).sort()).toEqual(
      ['Storage/AllocateBuckets OK', 'Storage/ReadShare OK', 'Storage/Stats PERMISSION_DENIED', 'Storage/WriteShare OK'].sort(),
    );
    for (const o of rpc) {
      expect(Object.keys(o).filter((k) => !['level', 'time', 'pid', 'hostname', 'name', 'msg'].includes(k)).sort()).toEqual(['caller', 'method', 'ms', 'status']);
      expect(typeof o['ms']).toBe('number');
    }
    expect(rpc.filter((o) => o['status'] === 'OK').every((o) => o['caller'] === shortKey(alice.keyPair.publicKey))).toBe(true);
    expect(rpc.find((o) => o['status'] === 'PERMISSION_DENIED')?.['caller']).toBe('-');

    // Never a key, a read-cap or a secret (grep the captured log).
    const log = lines.join('\n');
    expect(log).not.toContain('URI:CHK:');
    for (const secret of [alice.keyPair.secretKey, f.serverKey.secretKey, f.gridManager.secretKey]) {
      expect(log).not.toContain(toHex(secret));
      expect(log).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(log).not.toContain(toHex(alice.keyPair.publicKey));
  });
});
