/**
 * Gateway receipts over real gRPC and a real store, on SQLite and PostgreSQL
 * (test/fixtures/database-backends.ts; a fresh database per test): one signed
 * receipt per contact-point attempt, covering only the bytes verified and
 * forwarded from that attempt; stored with its outbox rows in one
 * transaction; usage persistent across restarts; per-client usage events
 * published to a real nats-server when configured. Contact points and the
 * clearinghouse are the fixtures' fakes (they answer SubmitReceipt and
 * ReportUsage with UNIMPLEMENTED, which the pumps retry).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { formatCap } from '../../../libs/caps/index.js';
import { bytesEqual, toHex } from '../../../libs/crypto/index.js';
import { CLIENT_USAGE_SUBJECT, EventBus, openSignedClientUsageEvent, type ClientUsageEvent } from '../../../libs/events/index.js';
import type { UsageRecordPayload } from '../../../libs/federation/index.js';
import { costOf } from '../../../libs/ledger/index.js';
import type { SegmentChunk__Output } from '../../../libs/rpc/proto-types.js';
import { openReceipt, openUsageRecord, type ReceiptBody } from '../../../libs/usage/index.js';
import { startGateway, type GatewayTransfer, type RunningGateway } from '../../../services/gateway/index.js';
import { BACKEND_SETUP_MS, databaseBackends, type TestDatabase } from '../../fixtures/database-backends.js';
import { startNatsServer, type TestNatsServer } from '../../fixtures/nats-server.js';
import {
  fetchRaw,
  gatewayClient,
  gatewayTestConfig,
  getUsage,
  HOME_AREA,
  makeFile,
  makePrincipals,
  QUIET,
  startFakeClearinghouse,
  startFakeContactPoint,
  type FakeClearinghouse,
  type FakeContactPoint,
  type Misbehaviour,
  type Principals,
  type TestFile,
} from './fixtures.js';

const SEG = 1024;
const PRICE = 10;
const TIMING = { pollMs: 100, minBackoffMs: 20, maxBackoffMs: 200 };

let p: Principals;
let ch: FakeClearinghouse;
let gw: RunningGateway;
let dataDir: string;
let database: TestDatabase;
const fakes: FakeContactPoint[] = [];
let big: TestFile; // 5 segments + 7 bytes
let huge: TestFile; // 200 segments

async function cp(misbehaviour?: Misbehaviour, files = [big]): Promise<FakeContactPoint> {
  const c = await startFakeContactPoint(p.ch.publicKey, files, misbehaviour);
  fakes.push(c);
  return c;
}

function area(code: string, cps: FakeContactPoint[]): void {
  ch.areas.set(code, { price: PRICE, contactPoints: cps.map((c) => ({ address: c.address, publicKey: c.key.publicKey })) });
}

function startGw(extra: Partial<Parameters<typeof gatewayTestConfig>[2]> = {}): Promise<RunningGateway> {
  return startGateway(
    gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, { priceCeilingUnitsPerGib: 100, resolutionCacheMs: 0, contactPointTimeoutMs: 1000, dataDir, database, ...extra }),
    { ...QUIET, pumpTiming: TIMING },
  );
}

/** Runs `fn` and returns the transfer rows it added. */
async function newTransfers(g: RunningGateway, fn: () => Promise<unknown>): Promise<GatewayTransfer[]> {
  const before = (await g.store.transfers()).length;
  await fn();
  return (await g.store.transfers()).slice(before);
}

function receiptOf(t: GatewayTransfer): ReceiptBody {
  return openReceipt(t.receipt);
}

beforeAll(async () => {
  p = makePrincipals();
  big = makeFile(5 * SEG + 7, SEG);
  huge = makeFile(200 * SEG, SEG);
  ch = await startFakeClearinghouse(p.ch);
});

afterAll(async () => {
  await Promise.all(fakes.map((c) => c.stop()));
  await ch?.stop();
  p?.cleanup();
});

for (const backend of databaseBackends('gw-receipts')) describe(`gateway on ${backend.name}`, () => {
  beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
  afterAll(() => backend.teardown());

  beforeEach(async () => {
    dataDir = mkdtempSync(join(p.dir, 'gw-'));
    database = await backend.fresh();
    gw = await startGw();
  });

  afterEach(async () => {
    await gw?.stop();
  });

  describe('receipts', () => {
    it('signs one receipt per attempt for its verified bytes only: a corrupt segment ends the first, the second covers the rest', async () => {
      const bad = await cp({ kind: 'corrupt-ciphertext', at: 3 });
      const good = await cp();
      area('301', [bad, good]);
      const t0 = Date.now();
      let got: Awaited<ReturnType<typeof fetchRaw>> | undefined;
      const rows = await newTransfers(gw, async () => (got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('301')))));
      expect(got!.error).toBeUndefined();
      expect(got!.segments.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
      const received = got!.segments.reduce((n, s) => n + s.ciphertext.length, 0);
      expect(rows).toHaveLength(2);
      const [first, second] = rows.map(receiptOf) as [ReceiptBody, ReceiptBody];
      expect(first).toMatchObject({ contactPoint: toHex(bad.key.publicKey), bytes: 3 * SEG, ranges: [{ offset: 0, length: 3 * SEG }] });
      expect(second).toMatchObject({ contactPoint: toHex(good.key.publicKey), bytes: 2 * SEG + 7, ranges: [{ offset: 3 * SEG, length: 2 * SEG + 7 }] });
      expect(first.bytes + second.bytes).toBe(received);
      for (const r of [first, second]) {
        expect(r).toMatchObject({
          exporter: '301',
          importer: HOME_AREA,
          gateway: toHex(p.gateway.publicKey),
          priceUnitsPerGib: PRICE,
          storageIndex: toHex(big.verifyCap('301').storageIndex),
          recordId: `rcpt-${toHex(p.gateway.publicKey)}:${r.transferId}`,
          version: 2,
        });
        expect(r.priceAsOfMs).toBeGreaterThanOrEqual(t0 - 1000);
        expect(r.priceAsOfMs).toBeLessThanOrEqual(r.atMs);
      }
      // A fresh transfer id per attempt (a contact point refuses an id used before).
      expect(first.transferId).not.toBe(second.transferId);
      // The transfer ids are those the contact points were asked with.
      expect(bad.requests.at(-1)?.transferId).toBe(first.transferId);
      expect(good.requests.at(-1)?.transferId).toBe(second.transferId);
      expect(rows.map((r) => r.fetchId)).toEqual([rows[0]!.fetchId, rows[0]!.fetchId]);
      const line = (await gw.usage()).find((l) => bytesEqual(l.client, p.client.keyPair.publicKey) && l.remoteAreaCode === '301');
      expect(line).toMatchObject({ verifiedBytes: received, transfers: 1, priceUnitsPerGib: PRICE });
    });

    it('receipts the good segments of a fetch whose every contact point failed, and nothing for a first segment already bad', async () => {
      area('302', [await cp({ kind: 'corrupt-ciphertext', at: 2 })]);
      let got: Awaited<ReturnType<typeof fetchRaw>> | undefined;
      const rows = await newTransfers(gw, async () => (got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('302')))));
      expect(got!.error?.message).toMatch(/all 1 contact points/);
      expect(got!.segments.map((s) => s.index)).toEqual([0, 1]);
      expect(rows.map((r) => receiptOf(r).bytes)).toEqual([2 * SEG]);

      area('303', [await cp({ kind: 'wrong-proof', at: 0 })]);
      const none = await newTransfers(gw, () => fetchRaw(gw, p.client, formatCap(big.verifyCap('303'))));
      expect(none).toEqual([]);
      expect((await gw.usage()).find((l) => l.remoteAreaCode === '303')).toBeUndefined();
    });

    it('receipts what was forwarded before the client cancelled', async () => {
      area('304', [await cp(undefined, [huge])]);
      const before = (await gw.store.transfers()).length;
      const client = gatewayClient(gw, p.otherClient);
      const call = client.Fetch({ verifyCap: formatCap(huge.verifyCap('304')), offset: 0, length: 0 });
      let seen = 0;
      await new Promise<void>((resolve) => {
        call.on('data', (c: SegmentChunk__Output) => {
          if (c.part === 'segment' && ++seen === 3) {
            call.cancel();
            resolve();
          }
        });
        call.on('error', () => resolve());
      });
      let rows: GatewayTransfer[] = [];
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        rows = (await gw.store.transfers()).slice(before);
      }
      client.close();
      expect(rows).toHaveLength(1);
      const r = receiptOf(rows[0]!);
      expect(r.bytes).toBeGreaterThanOrEqual(3 * SEG);
      expect(r.bytes).toBeLessThan(200 * SEG);
      expect(r.bytes % SEG).toBe(0);
      expect(r.ranges).toEqual([{ offset: 0, length: r.bytes }]);
      const line = (await gw.usage()).find((l) => bytesEqual(l.client, p.otherClient.keyPair.publicKey) && l.remoteAreaCode === '304');
      expect(line?.verifiedBytes).toBe(r.bytes);
    });

    it('writes the receipt and its outbox rows together; the pumps keep retrying receivers that do not take them', async () => {
      area('305', [await cp()]);
      const [row] = await newTransfers(gw, () => fetchRaw(gw, p.client, formatCap(big.verifyCap('305'))));
      // Outbox ids name this gateway: '<gateway key>:<transfer id>'.
      const id = `${toHex(p.gateway.publicKey)}:${row!.transferId}`;
      const rows = (await gw.store.knex('gw_outbox').where('id', 'like', `%${id}`).orderBy('id')) as { id: string; channel: string; payload: string }[];
      expect(rows.map((r) => [r.id, r.channel])).toEqual([
        [`deliver-rcpt-${id}`, 'receipt-delivery'],
        [`rcpt-${id}`, 'clearinghouse'],
      ]);
      // The clearinghouse row carries the stored receipt as a usage record of kind 'receipt'.
      const record = JSON.parse(rows[1]!.payload) as UsageRecordPayload;
      const opened = openUsageRecord({ kind: record.kind, body: Buffer.from(record.body, 'base64'), signature: Buffer.from(record.signature, 'base64') });
      expect(opened.kind === 'receipt' && opened.receipt.bytes).toBe(big.plaintext.length);
      // The fakes answer UNIMPLEMENTED: retried, with the reason kept.
      await expect.poll(async () => (await gw.store.outbox.stateOf(`rcpt-${id}`))?.attempts ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(await gw.store.outbox.stateOf(`rcpt-${id}`)).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/ReportUsage/) });
      expect((await gw.store.outbox.stateOf(`deliver-rcpt-${id}`))?.state).toBe('pending');

      // One transaction: an outbox row that cannot be added takes the transfer row with it.
      const copy = { ...row!, transferId: 'atomic-1', fetchId: 'f-atomic' };
      await expect(gw.store.recordTransfers([copy], [{ id: 'x'.repeat(300), channel: 'clearinghouse', payload: '{}' }])).rejects.toThrow(/longer than/);
      expect(await gw.store.transfer('atomic-1')).toBeUndefined();
    });

    it('serves GetUsage from its database: the same after a restart', async () => {
      area('307', [await cp()]);
      const rows = await newTransfers(gw, () => fetchRaw(gw, p.client, formatCap(big.verifyCap('307'))));
      expect(rows).toHaveLength(1);
      const lines = await getUsage(gw, p.admin);
      expect(lines.length).toBeGreaterThan(0);
      const pending = await gw.store.outbox.counts();
      await gw.stop();
      gw = await startGw();
      expect(await getUsage(gw, p.admin)).toEqual(lines);
      expect((await gw.store.outbox.counts()).pending).toBe(pending.pending);
    });
  });

  describe('per-client usage events (real nats-server)', () => {
    let nats: TestNatsServer;
    let withNats: RunningGateway;
    let bus: EventBus;

    beforeAll(async () => {
      nats = await startNatsServer();
      withNats = await startGw({ dataDir: mkdtempSync(join(p.dir, 'gw-nats-')), database: await backend.fresh(), nats: { servers: [nats.url] } });
      bus = await EventBus.connect({ servers: [nats.url], stream: 'INTERGRID_USAGE' }, { onError: () => undefined });
    });

    afterAll(async () => {
      await bus?.close();
      await withNats?.stop();
      await nats?.stop();
    });

    it('publishes one event per receipt with msgID use-<transfer id>, after the transfer row is stored', async () => {
      const bad = await cp({ kind: 'corrupt-ciphertext', at: 4 });
      const good = await cp();
      area('306', [bad, good]);
      const rows = await newTransfers(withNats, () => fetchRaw(withNats, p.client, formatCap(big.verifyCap('306'))));
      expect(rows).toHaveLength(2);
      const events: ClientUsageEvent[] = [];
      const consumer = bus.consume('receipts-test', CLIENT_USAGE_SUBJECT, async (data) => {
        // Signed by this gateway's key: the grid manager tallies nothing else.
        const signed = openSignedClientUsageEvent(data);
        expect(toHex(signed.signer)).toBe(toHex(p.gateway.publicKey));
        events.push(signed.event);
      });
      await expect.poll(() => events.length, { timeout: 10_000 }).toBe(2);
      await consumer.stop();
      expect(events.map((e) => e.eventId).sort()).toEqual(rows.map((r) => `use-${r.transferId}`).sort());
      for (const r of rows) {
        const e = events.find((x) => x.transferId === r.transferId)!;
        expect(e).toMatchObject({ client: toHex(p.client.keyPair.publicKey), remoteAreaCode: '306', bytes: r.bytes, priceUnitsPerGib: PRICE, units: costOf(r.bytes, PRICE) });
      }
      expect((await withNats.store.outbox.counts('nats')).sent).toBe(2);
    });
  });
});
