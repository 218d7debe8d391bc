/**
 * Billing when one party lies (issue 11, items 1-4), on a real federation
 * (test/e2e/fixtures/federation.ts: real clearinghouse, contact points,
 * gateways and storage servers on 127.0.0.1:0, SQLite everywhere).
 *
 * Grid 101 exports (the files live there). Grid 103's gateway is honest: its
 * client fetches through it. Grid 102 has a LYING gateway: a test-only
 * identity the clearinghouse approved for 102, which calls 101's contact
 * point and the clearinghouse directly and signs whatever receipts it likes.
 * The lying contact point is 101's real contact point's key reporting an
 * inflated served record for an honest transfer.
 *
 * Every test checks the lie is refused or disputed with a clear status, and
 * that the honest parties' bills are untouched: nothing posted at the lying
 * figure, the honest grid's pair exactly as its verified bytes say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCertificateFile, readKeyFile, signJson, type Identity, type SignedDocument } from '../../libs/auth/index.js';
import { formatCap, toVerifyCap, type ReadCap, type VerifyCap } from '../../libs/caps/index.js';
import { connectGrid, downloadFile, uploadFile } from '../../libs/client/index.js';
import { generateKeyPair, randomBytes, toHex } from '../../libs/crypto/index.js';
import { connectLedger, type LedgerConnection, type LedgerSnapshotInfo } from '../../libs/federation/index.js';
import { costOf } from '../../libs/ledger/index.js';
import type { ContactPointClient, SegmentChunk__Output } from '../../libs/rpc/proto-types.js';
import {
  embedReceipt,
  openReceipt,
  RECEIPT_TAG,
  RECEIPT_VERSION,
  receiptRecordId,
  SERVED_VERSION,
  servedRecordId,
  signReceipt,
  signServedRecord,
  transferKey,
  type ReceiptBody,
} from '../../libs/usage/index.js';
import { contactPointClient, startFederation, type Federation, type FederationContactPoint } from './fixtures/federation.js';

const A = '101'; // exporter
const B = '102'; // the lying gateway's grid
const C = '103'; // honest importer
const SEG = 4096;
const PRICE = 1_000_003;
/** Short resolution lifetime and clock slack, so an "old" price date is seconds old, not minutes. */
const TTL_MS = 2000;
const SKEW_MS = 2000;
/** Long enough for a test to report before the contact point's no-receipt sweep. */
const RECEIPT_WAIT_MS = 6000;

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
let rogue: Identity;
let rogueHex: string;
let operator: LedgerConnection;
let rogueLedger: LedgerConnection;
let file: { cap: ReadCap; verify: VerifyCap; size: number };
const closers: { close(): void }[] = [];
let uploads = 0;

beforeAll(async () => {
  fed = await startFederation({
    areaCodes: [A, B, C],
    servers: 5,
    encoding: { segmentSize: SEG },
    interceptors: [blocker],
    pumpTiming: { pollMs: 100, minBackoffMs: 20, maxBackoffMs: 250 },
    // A transfer without receipt is reported (its own count, no receipt) this long after its end.
    receiptWaitMs: RECEIPT_WAIT_MS,
    priceCeilingUnitsPerGib: 1_000_000_000,
    clearinghouseConfig: { resolutionTtlMs: TTL_MS, maxClockSkewMs: SKEW_MS },
  });
  await fed.admin.setPrice(A, PRICE);
  // The lying gateway: approved for 102 by the clearinghouse, like any gateway.
  const key = generateKeyPair();
  rogue = { keyPair: key, certificates: [await fed.admin.approveGateway({ areaCode: B, gatewayPublicKey: key.publicKey })] };
  rogueHex = toHex(key.publicKey);
  operator = connectLedger(fed.clearinghouse.address, fed.adminIdentity);
  rogueLedger = connectLedger(fed.clearinghouse.address, rogue);
  closers.push(operator, rogueLedger);
  file = await put(randomBytes(5 * SEG + 321));
}, 120_000);

afterAll(async () => {
  blocked.clear();
  for (const c of closers) c.close();
  await fed?.stop();
});

// ---- helpers ---------------------------------------------------------------------------------------

async function put(data: Uint8Array): Promise<{ cap: ReadCap; verify: VerifyCap; size: number }> {
  const path = join(fed.dir, `adv-upload-${uploads++}`);
  writeFileSync(path, data);
  const conn = await connectGrid(fed.grid(A).clientConfig);
  try {
    const cap = (await uploadFile(conn, path, { encoding: { segmentSize: SEG } })).cap;
    return { cap, verify: toVerifyCap(cap), size: data.length };
  } finally {
    conn.close();
    rmSync(path, { force: true });
  }
}

/** The honest client of grid C fetches the file through its gateway; returns that fetch's one attempt. */
async function honestFetch(): Promise<{ transferId: string; bytes: number; contactPoint: string; address: string }> {
  const g = fed.grid(C);
  const before = g.fetches.length;
  const conn = await connectGrid(g.clientConfig);
  let got = 0;
  try {
    await downloadFile(conn, file.cap, async (chunk) => void (got += chunk.length));
  } finally {
    conn.close();
  }
  expect(got).toBe(file.size);
  const [report] = g.fetches.slice(before);
  expect(report!.attempts).toHaveLength(1);
  const a = report!.attempts[0]!;
  return { transferId: a.transferId, bytes: a.bytes, contactPoint: a.contactPoint, address: a.address };
}

function cp(address?: string): FederationContactPoint {
  const c = address === undefined ? fed.grid(A).contactPoints[0]! : fed.grid(A).contactPoints.find((x) => x.address === address)!;
  expect(c.running).toBeDefined();
  return c;
}

function client(address: string): ContactPointClient {
  const c = contactPointClient(cp(address), rogue);
  closers.push(c);
  return c;
}

/** The lying gateway's FetchSegments: every chunk, the ciphertext bytes received, the error if any. */
function rogueFetch(address: string, transferId: string): Promise<{ chunks: number; bytes: number; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    let chunks = 0;
    let bytes = 0;
    const call = client(address).fetchSegments({ verifyCap: formatCap(file.verify), offset: 0, length: 0, transferId });
    call.on('data', (c: SegmentChunk__Output) => {
      chunks += 1;
      bytes += c.segment?.ciphertext?.length ?? 0;
    });
    call.on('error', (error: grpc.ServiceError) => resolve({ chunks, bytes, error }));
    call.on('end', () => resolve({ chunks, bytes }));
  });
}

function submit(address: string, signed: SignedDocument): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    client(address).submitReceipt({ body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) }, (err) => resolve(err)),
  );
}

/** The receipt body the lying gateway would sign for `transferId` at `address` (honest figures unless overridden). */
async function rogueReceipt(address: string, transferId: string, bytes: number, over: Partial<ReceiptBody> = {}): Promise<ReceiptBody> {
  const resolution = await fed.resolve(A);
  return {
    version: RECEIPT_VERSION,
    recordId: receiptRecordId(rogueHex, transferId),
    transferId,
    storageIndex: toHex(file.verify.storageIndex),
    ranges: bytes > 0 ? [{ offset: 0, length: bytes }] : [],
    bytes,
    priceUnitsPerGib: resolution.priceUnitsPerGib,
    priceAsOfMs: resolution.issuedAtMs,
    exporter: A,
    importer: B,
    gateway: rogueHex,
    contactPoint: toHex(cp(address).running!.publicKey),
    atMs: Date.now(),
    ...over,
  };
}

const pair = (s: LedgerSnapshotInfo, importer: string): { bytes: number; units: number; transfers: number } => {
  const p = s.pairs.find((x) => x.exporter === A && x.importer === importer);
  return { bytes: p?.bytes ?? 0, units: p?.units ?? 0, transfers: p?.transfers ?? 0 };
};

async function disputeOf(gateway: string, transferId: string) {
  return (await operator.listDisputes(true)).find((d) => d.transferId === transferKey(gateway, transferId));
}

/** The clearinghouse's row of a transfer (read-only look at its ledger). */
async function transferRow(gateway: string, transferId: string): Promise<Record<string, unknown> | undefined> {
  const l = fed.clearinghouse.ledger;
  return (await l.knex('ch_transfers').where({ transfer_id: transferKey(gateway, transferId) }).first()) as Record<string, unknown> | undefined;
}

/** Drains every outbox, then waits until each named transfer has both sides at the clearinghouse. */
async function settle(...transfers: [gateway: string, transferId: string][]): Promise<void> {
  await fed.drainOutboxes();
  for (const [gw, id] of transfers) {
    await expect.poll(async () => (await transferRow(gw, id))?.state ?? 'absent', { timeout: 10_000 }).not.toMatch(/^(absent|pending)$/);
  }
}

const honestHex = (): string => toHex(fed.grid(C).gatewayIdentity.keyPair.publicKey);

// ---- a lying gateway ---------------------------------------------------------------------------------

describe('a lying gateway', () => {
  it('cannot zero its bill: a 0-byte receipt is refused at the contact point and the clearinghouse; a short one is a dispute at the full count', async () => {
    const before = await operator.getLedger();
    const address = cp().address;
    const got = await rogueFetch(address, 'zero-1');
    expect(got.error).toBeUndefined();
    expect(got.bytes).toBe(file.size);

    // bytes 0 / ranges []: no longer a receipt at all (v1 accepted it, and both sides then agreed on 0).
    const zero = signJson(RECEIPT_TAG, await rogueReceipt(address, 'zero-1', 0), rogue.keyPair);
    const refused = await submit(address, zero);
    expect(refused?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused?.details).toMatch(/receipt rejected: receipt is malformed: ranges: a receipt covers at least one byte range/);
    const [rejected] = await rogueLedger.reportUsage([{ kind: 'receipt', ...zero }]);
    expect(rejected).toMatchObject({ outcome: 'REJECTED', recordId: receiptRecordId(rogueHex, 'zero-1') });
    expect(rejected!.message).toMatch(/a receipt covers at least one byte range/);
    // Without a receipt the contact point reports its own count after receiptWaitMs (its sweep), never 0.
    const store = cp(address).running!.store;
    await expect.poll(async () => (await store.transfer('zero-1', rogueHex))?.reported, { timeout: RECEIPT_WAIT_MS + 10_000, interval: 200 }).toBe(true);
    expect(await store.transfer('zero-1', rogueHex)).toMatchObject({ bytes: file.size, reportedBytes: file.size });
    expect(await store.transfer('zero-1', rogueHex)).not.toHaveProperty('receiptBytes');
    await cp(address).running!.drainOutboxes();
    // At the clearinghouse: the served side alone (the 0-byte receipt was refused) — nothing posted.
    expect(await transferRow(rogueHex, 'zero-1')).toMatchObject({ state: 'pending', served_bytes: file.size, receipt_bytes: null });

    // The smallest receipt it can sign (1 byte) is accepted as a receipt — and disputed at the full count.
    const got2 = await rogueFetch(address, 'short-1');
    expect(got2.bytes).toBe(file.size);
    const short = signReceipt(await rogueReceipt(address, 'short-1', 1), rogue.keyPair);
    expect(await submit(address, short)).toBeNull();
    expect((await rogueLedger.reportUsage([{ kind: 'receipt', ...short }]))[0]!.outcome).toBe('ACCEPTED');
    await fed.drainOutboxes();
    await expect.poll(async () => (await disputeOf(rogueHex, 'short-1'))?.reason, { timeout: 10_000 }).toBe('bytes-mismatch');
    const d = (await disputeOf(rogueHex, 'short-1'))!;
    expect(d).toMatchObject({ servedBytes: file.size, receiptBytes: 1, state: 'open', priceUnitsPerGib: PRICE });
    expect(d.detail).toMatch(/the receipt covers less than the contact point counted/);

    // Nothing was posted for either transfer; the honest grid's bill is untouched.
    const after = await operator.getLedger();
    expect(pair(after, B)).toEqual(pair(before, B));
    expect(pair(after, C)).toEqual(pair(before, C));
  });

  it('cannot fetch a transfer id again: FAILED_PRECONDITION naming the id, 0 more bytes served, billed once', async () => {
    const before = await operator.getLedger();
    const address = cp().address;
    const store = cp(address).running!.store;
    const served = async (): Promise<number> => (await store.byGateway()).find((g) => g.gateway === rogueHex)?.bytes ?? 0;

    const first = await rogueFetch(address, 'once-1');
    expect(first.bytes).toBe(file.size);
    // Ended but not yet receipted: already refused.
    const early = await rogueFetch(address, 'once-1');
    expect(early.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(early.error?.details).toMatch(/transfer id 'once-1' was already used by gateway [0-9a-f]{16}… \(done\)/);
    const receipt = signReceipt(await rogueReceipt(address, 'once-1', file.size), rogue.keyPair);
    expect(await submit(address, receipt)).toBeNull();
    expect((await rogueLedger.reportUsage([{ kind: 'receipt', ...receipt }]))[0]!.outcome).toBe('ACCEPTED');
    await settle([rogueHex, 'once-1']);
    expect(await store.transfer('once-1', rogueHex)).toMatchObject({ reported: true, reportedBytes: file.size });

    // Reported: asking again gets nothing at all (v1 reopened the row and streamed the whole file unbilled).
    const servedBefore = await served();
    for (let i = 0; i < 3; i++) {
      const again = await rogueFetch(address, 'once-1');
      expect(again.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(again.error?.details).toMatch(/transfer id 'once-1' was already used by gateway [0-9a-f]{16}… \(done, reported\): a transfer id names one transfer/);
      expect(again).toMatchObject({ chunks: 0, bytes: 0 });
    }
    expect(await served()).toBe(servedBefore);
    expect(await store.transfer('once-1', rogueHex)).toMatchObject({ state: 'done', bytes: file.size, reported: true });

    // Billed exactly once, at the full size; the honest grid untouched.
    const after = await operator.getLedger();
    expect(pair(after, B)).toEqual({ bytes: pair(before, B).bytes + file.size, units: pair(before, B).units + costOf(file.size, PRICE), transfers: pair(before, B).transfers + 1 });
    expect(pair(after, C)).toEqual(pair(before, C));
  });

  it("cannot hide behind another gateway's transfer id: both transfers are kept apart and both are billed", async () => {
    const before = await operator.getLedger();
    const honest = await honestFetch();
    await settle([honestHex(), honest.transferId]);
    const mid = await operator.getLedger();
    expect(pair(mid, C)).toEqual({ bytes: pair(before, C).bytes + honest.bytes, units: pair(before, C).units + costOf(honest.bytes, PRICE), transfers: pair(before, C).transfers + 1 });

    // The lying gateway uses the honest gateway's transfer id at the same contact point.
    const got = await rogueFetch(honest.address, honest.transferId);
    expect(got.error).toBeUndefined();
    expect(got.bytes).toBe(file.size);
    const receipt = signReceipt(await rogueReceipt(honest.address, honest.transferId, got.bytes), rogue.keyPair);
    expect(await submit(honest.address, receipt)).toBeNull();
    expect((await rogueLedger.reportUsage([{ kind: 'receipt', ...receipt }]))[0]).toMatchObject({ outcome: 'ACCEPTED', recordId: receiptRecordId(rogueHex, honest.transferId) });
    await settle([rogueHex, honest.transferId]);

    // Two rows and two served records at the contact point (v1: one outbox id 'srv-<id>', the second silently dropped).
    const store = cp(honest.address).running!.store;
    expect(await store.transfer(honest.transferId, honestHex())).toMatchObject({ bytes: honest.bytes, reported: true });
    expect(await store.transfer(honest.transferId, rogueHex)).toMatchObject({ bytes: got.bytes, reported: true });
    expect((await store.outbox.stateOf(servedRecordId(honestHex(), honest.transferId)))?.state).toBe('sent');
    expect((await store.outbox.stateOf(servedRecordId(rogueHex, honest.transferId)))?.state).toBe('sent');
    // Both billed, each to its own grid; the honest one exactly as before the lie.
    const after = await operator.getLedger();
    expect(pair(after, C)).toEqual(pair(mid, C));
    expect(pair(after, B)).toEqual({ bytes: pair(mid, B).bytes + got.bytes, units: pair(mid, B).units + costOf(got.bytes, PRICE), transfers: pair(mid, B).transfers + 1 });
    expect(await disputeOf(rogueHex, honest.transferId)).toBeUndefined();
    expect(await disputeOf(honestHex(), honest.transferId)).toBeUndefined();
  });
});

// ---- a lying contact point ---------------------------------------------------------------------------

describe('a lying contact point', () => {
  it('over-reporting an honest transfer is a dispute, nothing is posted, and its later honest record does not change that', async () => {
    const before = await operator.getLedger();
    // Hold the receipt back from the contact point, so the lie is the contact point's first report.
    blocked.add('/SubmitReceipt');
    let honest: Awaited<ReturnType<typeof honestFetch>>;
    try {
      honest = await honestFetch();
      const gw = fed.grid(C).gateway;
      await expect
        .poll(async () => (await gw.store.outbox.stateOf(receiptRecordId(honestHex(), honest.transferId)))?.state, { timeout: 10_000 })
        .toBe('sent');
      const row = (await gw.store.transfer(honest.transferId))!;
      const r = openReceipt(row.receipt);
      const liar = cp(honest.address);
      const cpIdentity: Identity = { keyPair: readKeyFile(liar.config.keyFile), certificates: [readCertificateFile(liar.config.certificateFile)] };
      const now = Date.now();
      const inflated = signServedRecord(
        {
          version: SERVED_VERSION,
          recordId: servedRecordId(r.gateway, r.transferId),
          transferId: r.transferId,
          storageIndex: r.storageIndex,
          bytes: r.bytes * 10,
          exporter: A,
          importer: C,
          gateway: r.gateway,
          contactPoint: r.contactPoint,
          startedAtMs: now - 1000,
          atMs: now,
          receipt: embedReceipt(row.receipt),
        },
        cpIdentity.keyPair,
      );
      const cpLedger = connectLedger(fed.clearinghouse.address, cpIdentity, { clearinghousePublicKey: fed.clearinghouse.publicKey });
      closers.push(cpLedger);
      expect((await cpLedger.reportUsage([{ kind: 'served', ...inflated }]))[0]!.outcome).toBe('ACCEPTED');
      const d = await disputeOf(honestHex(), honest.transferId);
      expect(d).toMatchObject({ reason: 'bytes-mismatch', servedBytes: r.bytes * 10, receiptBytes: r.bytes, state: 'open', exporter: A, importer: C });
    } finally {
      blocked.delete('/SubmitReceipt');
    }
    // The receipt now reaches the contact point, which reports its honest record: refused (the transfer has its served record).
    await fed.drainOutboxes();
    const store = cp(honest.address).running!.store;
    expect((await store.outbox.stateOf(servedRecordId(honestHex(), honest.transferId)))?.state).toBe('rejected');
    expect(await disputeOf(honestHex(), honest.transferId)).toMatchObject({ reason: 'bytes-mismatch', state: 'open' });
    // Nothing posted at the inflated figure, nor at all: the honest importer's bill is untouched.
    const after = await operator.getLedger();
    expect(pair(after, C)).toEqual(pair(before, C));
    expect(pair(after, B)).toEqual(pair(before, B));
  });
});

// ---- the price date (last: it changes the exporter's price) -------------------------------------------

describe('a lying gateway, price date', () => {
  it("cannot pick the exporter's cheap old price: a price-date dispute at the price of the transfer's time; the honest grid pays the current price", async () => {
    const before = await operator.getLedger();
    const cheapFrom = Date.now();
    await fed.admin.setPrice(A, 1);
    await new Promise((r) => setTimeout(r, 50));
    const current = 7_000_001;
    await fed.admin.setPrice(A, current);
    // Past any resolution issued while the cheap price held (lifetime + slack).
    await new Promise((r) => setTimeout(r, TTL_MS + SKEW_MS + 500));

    const address = cp().address;
    const got = await rogueFetch(address, 'cheap-1');
    expect(got.bytes).toBe(file.size);
    // An honestly dated receipt would say `current` as of now; this one says 1 as of the cheap moment.
    const receipt = signReceipt(await rogueReceipt(address, 'cheap-1', got.bytes, { priceUnitsPerGib: 1, priceAsOfMs: cheapFrom + 10 }), rogue.keyPair);
    expect(await submit(address, receipt)).toBeNull();
    expect((await rogueLedger.reportUsage([{ kind: 'receipt', ...receipt }]))[0]!.outcome).toBe('ACCEPTED');
    const honest = await honestFetch();
    await settle([rogueHex, 'cheap-1'], [honestHex(), honest.transferId]);

    const d = await disputeOf(rogueHex, 'cheap-1');
    expect(d).toMatchObject({ reason: 'price-date', state: 'open', priceUnitsPerGib: current, servedBytes: got.bytes, receiptBytes: got.bytes });
    expect(d!.detail).toMatch(/is older than any resolution valid when the transfer began/);
    // Resolving it posts at the transfer time's price, never the cheap one.
    expect((await operator.resolveDispute(d!.id, 'accept-receipt', 'billed at the price of the transfer time')).postedUnits).toBe(costOf(got.bytes, current));
    const after = await operator.getLedger();
    expect(pair(after, B)).toEqual({ bytes: pair(before, B).bytes + got.bytes, units: pair(before, B).units + costOf(got.bytes, current), transfers: pair(before, B).transfers + 1 });
    // The honest gateway's transfer was posted at the current price, as its resolution said.
    expect(pair(after, C)).toEqual({ bytes: pair(before, C).bytes + honest.bytes, units: pair(before, C).units + costOf(honest.bytes, current), transfers: pair(before, C).transfers + 1 });
    expect(await disputeOf(honestHex(), honest.transferId)).toBeUndefined();
  });
});
