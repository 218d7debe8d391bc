/**
 * clearinghouseUsageSender over real gRPC against a scripted ReportUsage
 * server (the real clearinghouse is exercised in test/e2e/receipts.test.ts):
 * outcome mapping, local rejection of unreadable rows, and RPC errors thrown
 * so the pump retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { clearinghouseUsageSender, usageRecordPayload } from '../../../libs/federation/index.js';
import type { OutboxRow } from '../../../libs/outbox/index.js';
import { bindServer, clearinghouseProto, stopServer, unary, SERVER_OPTIONS } from '../../../libs/rpc/index.js';
import type { ClearinghouseClient, ReportUsageRequest__Output, ReportUsageResponse } from '../../../libs/rpc/proto-types.js';
import { UnavailableError } from '../../../libs/errors/index.js';
import { pinnedClient } from '../../../libs/auth/index.js';
import { generateKeyPair } from '../../../libs/crypto/index.js';

let server: grpc.Server;
let client: ClearinghouseClient;
let unimplemented: ClearinghouseClient;
let emptyServer: grpc.Server;
const seen: ReportUsageRequest__Output[] = [];

/** Answers by the record body's text: 'ok' ACCEPTED, 'dup' DUPLICATE, 'bad' REJECTED, 'skip' no answer, 'down' UNAVAILABLE. */
beforeAll(async () => {
  server = new grpc.Server(SERVER_OPTIONS);
  server.addService(clearinghouseProto().intergrid.clearinghouse.Clearinghouse.service, {
    ReportUsage: unary<ReportUsageRequest__Output, ReportUsageResponse>('ReportUsage', async (call) => {
      seen.push(call.request);
      const texts = call.request.records.map((r) => Buffer.from(r.body).toString());
      if (texts.includes('down')) throw new UnavailableError('ledger busy');
      return {
        results: texts.flatMap((t, index) =>
          t === 'skip' ? [] : [{ index, recordId: `r${index}`, outcome: t === 'ok' ? 'ACCEPTED' : t === 'dup' ? 'DUPLICATE' : 'REJECTED', message: t === 'bad' ? 'signature does not verify' : '' }],
        ),
      } as ReportUsageResponse;
    }),
  });
  const Ctor = clearinghouseProto().intergrid.clearinghouse.Clearinghouse;
  const key = generateKeyPair();
  client = pinnedClient<ClearinghouseClient>(Ctor, { address: (await bindServer(server, '127.0.0.1:0', key)).address, publicKey: key.publicKey });
  emptyServer = new grpc.Server(SERVER_OPTIONS);
  emptyServer.addService(clearinghouseProto().intergrid.clearinghouse.Clearinghouse.service, {});
  unimplemented = pinnedClient<ClearinghouseClient>(Ctor, { address: (await bindServer(emptyServer, '127.0.0.1:0', key)).address, publicKey: key.publicKey });
});

afterAll(async () => {
  client?.close();
  unimplemented?.close();
  await stopServer(server);
  await stopServer(emptyServer);
});

function row(id: string, body: string, kind: 'receipt' | 'served' = 'receipt'): OutboxRow {
  return { id, channel: 'clearinghouse', payload: usageRecordPayload(kind, { body: Buffer.from(body), signature: new Uint8Array(64) }), createdAtMs: 0, attempts: 0, lastError: null };
}

describe('clearinghouseUsageSender', () => {
  it('maps ACCEPTED and DUPLICATE to done, REJECTED to rejected with the message, and leaves unanswered records pending', async () => {
    const send = clearinghouseUsageSender(() => client);
    const res = await send([row('a', 'ok'), row('b', 'dup', 'served'), row('c', 'bad'), row('d', 'skip')]);
    expect(res.done).toEqual(['a', 'b']);
    expect(res.rejected).toEqual([{ id: 'c', reason: 'clearinghouse rejected the record: signature does not verify' }]);
    const last = seen.at(-1)!;
    expect(last.records.map((r) => r.kind)).toEqual(['receipt', 'served', 'receipt', 'receipt']);
  });

  it('rejects a row whose payload cannot be read without sending it', async () => {
    const send = clearinghouseUsageSender(() => client);
    const before = seen.length;
    const res = await send([{ ...row('x', 'ok'), payload: 'not json' }]);
    expect(res).toEqual({ done: [], rejected: [{ id: 'x', reason: expect.stringMatching(/not JSON/) }] });
    expect(seen.length).toBe(before);
  });

  it('throws on an RPC error (UNAVAILABLE, UNIMPLEMENTED), so the pump retries', async () => {
    await expect(clearinghouseUsageSender(() => client)([row('a', 'ok'), row('z', 'down')])).rejects.toThrow(/ledger busy/);
    await expect(clearinghouseUsageSender(() => unimplemented)([row('a', 'ok')])).rejects.toThrow(/ReportUsage/);
  });
});
