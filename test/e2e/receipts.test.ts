/**
 * Receipts and usage reporting across a real federation (two grids, real
 * clearinghouse with ReportUsage, real contact points and gateways, SQLite
 * everywhere): the gateway's receipt reaches the contact point that served
 * the bytes, both sides report, the clearinghouse posts exactly the bytes
 * the client received. Outages are real (a stopped contact point) or made by
 * a server interceptor answering UNAVAILABLE for one method, and the outbox
 * pumps deliver afterwards. SubmitReceipt's refusals are checked against the
 * real contact point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { securedClient, signJson, type Identity, type Peer } from '../../libs/auth/index.js';
import type { ReadCap } from '../../libs/caps/index.js';
import { clientIdentity, connectGrid, downloadFile, uploadFile } from '../../libs/client/index.js';
import { generateKeyPair, randomBytes, toHex } from '../../libs/crypto/index.js';
import { contactPointProto } from '../../libs/rpc/index.js';
import type { ContactPointClient } from '../../libs/rpc/proto-types.js';
import { openReceipt, RECEIPT_TAG, receiptRecordId, servedRecordId, signReceipt, transferKey, type ReceiptBody } from '../../libs/usage/index.js';
import type { GatewayTransfer } from '../../services/gateway/index.js';
import { startFederation, type Federation, type FederationContactPoint, type FederationGrid } from './fixtures/federation.js';

const A = '101'; // exporter: the files live here
const B = '102'; // importer: its client fetches through its gateway
const SEG = 4096;
const RECEIPT_WAIT_MS = 4000;

/** Method names (path suffixes) answered with UNAVAILABLE by every service while listed. */
const blocked = new Set<string>();
const blocker: grpc.ServerInterceptor = (method, call) => {
  if (![...blocked].some((m) => method.path.endsWith(m))) return new grpc.ServerInterceptingCall(call);
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next(
        new grpc.ServerListenerBuilder()
          .withOnReceiveMessage(() => call.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'blocked by the test', metadata: new grpc.Metadata() }))
          .build(),
      ),
  });
};

let fed: Federation;
let uploads = 0;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  fed = await startFederation({
    grids: 2,
    encoding: { segmentSize: SEG },
    interceptors: [blocker],
    pumpTiming: { pollMs: 100, minBackoffMs: 20, maxBackoffMs: 250 },
    receiptWaitMs: RECEIPT_WAIT_MS,
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await fed?.stop();
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function put(g: FederationGrid, data: Uint8Array): Promise<ReadCap> {
  const path = join(fed.dir, `upload-${uploads++}`);
  writeFileSync(path, data);
  const conn = await connectGrid(g.clientConfig);
  try {
    return (await uploadFile(conn, path, { encoding: { segmentSize: SEG } })).cap;
  } finally {
    conn.close();
    rmSync(path, { force: true });
  }
}

async function get(g: FederationGrid, cap: ReadCap): Promise<Buffer> {
  const conn = await connectGrid(g.clientConfig);
  const parts: Buffer[] = [];
  try {
    await downloadFile(conn, cap, async (chunk) => void parts.push(Buffer.from(chunk)));
  } finally {
    conn.close();
  }
  return Buffer.concat(parts);
}

/** Puts `size` random bytes in A, gets them from B; returns the data and the gateway's new transfer rows. */
async function transfer(size: number): Promise<{ data: Uint8Array; rows: GatewayTransfer[] }> {
  const data = randomBytes(size);
  const cap = await put(fed.grid(A), data);
  const before = (await fed.grid(B).gateway.store.transfers()).length;
  const got = await get(fed.grid(B), cap);
  expect(sha256(got)).toBe(sha256(data));
  return { data, rows: (await fed.grid(B).gateway.store.transfers()).slice(before) };
}

/** The contact point of A that signed-for bytes came from. */
function servedBy(r: ReceiptBody): { cp: FederationContactPoint; index: number } {
  const index = fed.grid(A).contactPoints.findIndex((c) => c.running && toHex(c.running.publicKey) === r.contactPoint);
  expect(index).toBeGreaterThanOrEqual(0);
  return { cp: fed.grid(A).contactPoints[index]!, index };
}

async function ledgerPair(): Promise<{ bytes: number; transfers: number; records: number }> {
  const snap = await fed.clearinghouse.ledger.snapshot();
  const pair = snap.pairs.find((p) => p.exporter === A && p.importer === B);
  return { bytes: pair?.bytes ?? 0, transfers: pair?.transfers ?? 0, records: snap.records };
}

function cpClient(peer: Peer, identity: Identity): ContactPointClient {
  const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
  const c = securedClient<ContactPointClient>(Ctor, peer, identity);
  clients.push(c);
  return c;
}

function submit(peer: Peer, identity: Identity, signed: { body: Uint8Array; signature: Uint8Array }): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    cpClient(peer, identity).submitReceipt({ body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) }, (err) => resolve(err)),
  );
}

const gatewayB = (): Identity => fed.grid(B).gatewayIdentity;
const gatewayBKey = (): string => toHex(gatewayB().keyPair.publicKey);

describe('receipts and reports across two grids', () => {
  let first: GatewayTransfer;

  it('delivers the receipt to the contact point; both sides report; the clearinghouse posts exactly the bytes received', async () => {
    const before = await ledgerPair();
    const { data, rows } = await transfer(5 * SEG + 123);
    expect(rows).toHaveLength(1);
    first = rows[0]!;
    const r = openReceipt(first.receipt);
    expect(r).toMatchObject({ bytes: data.length, exporter: A, importer: B, gateway: gatewayBKey(), ranges: [{ offset: 0, length: data.length }] });
    await fed.drainOutboxes();
    const { cp } = servedBy(r);
    expect(await cp.running!.store.transfer(r.transferId, gatewayBKey())).toMatchObject({
      state: 'done',
      bytes: data.length,
      receiptBytes: data.length,
      reported: true,
      reportedBytes: data.length,
    });
    const gwOutbox = fed.grid(B).gateway.store.outbox;
    expect((await gwOutbox.stateOf(receiptRecordId(gatewayBKey(), r.transferId)))?.state).toBe('sent');
    expect((await gwOutbox.stateOf(`deliver-${receiptRecordId(gatewayBKey(), r.transferId)}`))?.state).toBe('sent');
    expect((await cp.running!.store.outbox.stateOf(servedRecordId(gatewayBKey(), r.transferId)))?.state).toBe('sent');
    const after = await ledgerPair();
    expect(after.bytes - before.bytes).toBe(data.length);
    expect(after.transfers - before.transfers).toBe(1);
    expect(after.records - before.records).toBe(2);
  });

  it('SubmitReceipt: the same receipt again is fine; every wrong receipt is refused with a clear error', async () => {
    const r = openReceipt(first.receipt);
    const { cp, index } = servedBy(r);
    const address: Peer = { address: cp.address, publicKey: cp.running!.publicKey };
    const other = fed.grid(A).contactPoints[1 - index]!.running!;
    expect(await submit(address, gatewayB(), first.receipt)).toBeNull();

    const resign = (change: Partial<ReceiptBody>, key = gatewayB().keyPair) => signReceipt({ ...r, ...change }, key);
    const cases: { what: string; signed: { body: Uint8Array; signature: Uint8Array }; code: grpc.status; message: RegExp }[] = [
      {
        what: 'another receipt for the same transfer',
        signed: resign({ bytes: r.bytes - 123, ranges: [{ offset: 0, length: r.bytes - 123 }] }),
        code: grpc.status.ALREADY_EXISTS,
        message: /already has a different receipt/,
      },
      { what: 'naming the other contact point', signed: resign({ transferId: 'x-cp', recordId: receiptRecordId(gatewayBKey(), 'x-cp'), contactPoint: toHex(other.publicKey) }), code: grpc.status.INVALID_ARGUMENT, message: /names contact point/ },
      { what: 'another exporter', signed: resign({ transferId: 'x-ex', recordId: receiptRecordId(gatewayBKey(), 'x-ex'), exporter: '103' }), code: grpc.status.INVALID_ARGUMENT, message: /exporter 103/ },
      { what: "an importer other than the caller's grid", signed: resign({ transferId: 'x-im', recordId: receiptRecordId(gatewayBKey(), 'x-im'), importer: '103' }), code: grpc.status.PERMISSION_DENIED, message: /importer 103/ },
      {
        what: 'a forged signature',
        // Names gateway B, signed by some other key.
        signed: signJson(RECEIPT_TAG, { ...r, transferId: 'x-forged', recordId: receiptRecordId(gatewayBKey(), 'x-forged') }, generateKeyPair()),
        code: grpc.status.INVALID_ARGUMENT,
        message: /does not verify/,
      },
      {
        what: 'a tampered body',
        signed: { body: new TextEncoder().encode(new TextDecoder().decode(first.receipt.body).replace(`"bytes":${r.bytes}`, `"bytes":${r.bytes + 1}`)), signature: first.receipt.signature },
        code: grpc.status.INVALID_ARGUMENT,
        message: /receipt rejected/,
      },
    ];
    const stranger = generateKeyPair();
    cases.push({
      what: "another gateway's receipt",
      signed: signReceipt({ ...r, transferId: 'x-gw', recordId: receiptRecordId(toHex(stranger.publicKey), 'x-gw'), gateway: toHex(stranger.publicKey) }, stranger),
      code: grpc.status.PERMISSION_DENIED,
      message: /not by the caller/,
    });
    for (const c of cases) {
      const err = await submit(address, gatewayB(), c.signed);
      expect(err?.code, c.what).toBe(c.code);
      expect(err?.details, c.what).toMatch(c.message);
    }
    // The exporting grid's own gateway, and a mere client of the importing grid, are not callers at all.
    expect((await submit(address, fed.grid(A).gatewayIdentity, first.receipt))?.code).toBe(grpc.status.PERMISSION_DENIED);
    // (its certificate is from its grid manager, not an issuer this contact point trusts).
    expect((await submit(address, clientIdentity(fed.grid(B).clientConfig), first.receipt))?.code).toBe(grpc.status.UNAUTHENTICATED);
    // Nothing changed for the real transfer.
    expect(await cp.running!.store.transfer(r.transferId, gatewayBKey())).toMatchObject({ receiptBytes: r.bytes, reportedBytes: r.bytes });
  });

  it('keeps delivering a receipt while its contact point is down, and it is reported with the receipt once it is back', async () => {
    blocked.add('/SubmitReceipt');
    const { data, rows } = await transfer(3 * SEG + 1);
    const r = openReceipt(rows[0]!.receipt);
    const { cp, index } = servedBy(r);
    const gwOutbox = fed.grid(B).gateway.store.outbox;
    const deliveryId = `deliver-${receiptRecordId(gatewayBKey(), r.transferId)}`;
    await expect.poll(async () => (await gwOutbox.stateOf(deliveryId))?.attempts ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    await fed.grid(A).stopContactPoint(index);
    const attempts = (await gwOutbox.stateOf(deliveryId))!.attempts;
    await expect.poll(async () => (await gwOutbox.stateOf(deliveryId))?.attempts ?? 0, { timeout: 5000 }).toBeGreaterThan(attempts + 1);
    expect((await gwOutbox.stateOf(deliveryId))?.state).toBe('pending');
    blocked.delete('/SubmitReceipt');
    await fed.grid(A).restartContactPoint(index);
    await fed.drainOutboxes();
    expect((await gwOutbox.stateOf(deliveryId))?.state).toBe('sent');
    expect(await cp.running!.store.transfer(r.transferId, gatewayBKey())).toMatchObject({ bytes: data.length, receiptBytes: data.length, reported: true, reportedBytes: data.length });
  });

  it("retries reports while the clearinghouse is unavailable and counts them once when it is back", async () => {
    const before = await ledgerPair();
    blocked.add('/ReportUsage');
    try {
      const { data, rows } = await transfer(2 * SEG + 7);
      const r = openReceipt(rows[0]!.receipt);
      const gwOutbox = fed.grid(B).gateway.store.outbox;
      await expect.poll(async () => (await gwOutbox.stateOf(receiptRecordId(gatewayBKey(), r.transferId)))?.attempts ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      const { cp } = servedBy(r);
      await expect.poll(async () => (await cp.running!.store.outbox.stateOf(servedRecordId(gatewayBKey(), r.transferId)))?.attempts ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
      expect((await gwOutbox.stateOf(receiptRecordId(gatewayBKey(), r.transferId)))).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/blocked by the test/) });
      expect((await ledgerPair()).bytes).toBe(before.bytes);
      blocked.delete('/ReportUsage');
      await fed.drainOutboxes();
      const after = await ledgerPair();
      expect(after.bytes - before.bytes).toBe(data.length);
      expect(after.records - before.records).toBe(2);
    } finally {
      blocked.delete('/ReportUsage');
    }
  });

  it('reports a transfer without receipt after receiptWaitMs; the clearinghouse disputes it instead of posting', async () => {
    const before = await ledgerPair();
    blocked.add('/SubmitReceipt');
    try {
      const { data, rows } = await transfer(SEG + 5);
      const r = openReceipt(rows[0]!.receipt);
      const { cp } = servedBy(r);
      const store = cp.running!.store;
      expect(await store.transfer(r.transferId, gatewayBKey())).toMatchObject({ reported: false });
      await expect.poll(async () => (await store.transfer(r.transferId, gatewayBKey()))?.reported, { timeout: RECEIPT_WAIT_MS + 5000, interval: 200 }).toBe(true);
      const row = await store.transfer(r.transferId, gatewayBKey());
      expect(row).toMatchObject({ bytes: data.length, reportedBytes: data.length });
      expect(row?.receiptBytes).toBeUndefined();
      await cp.running!.drainOutboxes();
      await expect.poll(async () => (await fed.grid(B).gateway.store.outbox.stateOf(receiptRecordId(gatewayBKey(), r.transferId)))?.state, { timeout: 5000 }).toBe('sent');
      const disputes = await fed.clearinghouse.ledger.listDisputes(false);
      expect(disputes.find((d) => d.transfer_id === transferKey(gatewayBKey(), r.transferId))).toMatchObject({ reason: 'missing-receipt', served_bytes: data.length, receipt_bytes: data.length });
      expect((await ledgerPair()).bytes).toBe(before.bytes);
    } finally {
      blocked.delete('/SubmitReceipt');
    }
  });
});
