/**
 * Issue 11 item 9 at the gateway: a client that opens Fetch streams and
 * never reads holds only its own allowance (maxFetchesPerClient; the next
 * one is RESOURCE_EXHAUSTED while another client is served) and is cut off
 * after streamStallMs, freeing its slots. Real gateway, fake clearinghouse
 * and contact point (test/unit/gateway/fixtures.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { formatCap } from '../../../libs/caps/index.js';
import { startGateway, type RunningGateway } from '../../../services/gateway/index.js';
import {
  gatewayTestConfig,
  QUIET,
  gatewayClient,
  makeFile,
  makePrincipals,
  startFakeClearinghouse,
  startFakeContactPoint,
  type FakeClearinghouse,
  type FakeContactPoint,
  type Principals,
  type TestFile,
} from './fixtures.js';
import type { Identity } from '../../../libs/auth/index.js';

const SEG = 64 * 1024;
const STALL_MS = 1000;

let p: Principals;
let ch: FakeClearinghouse;
let contactPoint: FakeContactPoint;
let gw: RunningGateway;
let file: TestFile;

beforeAll(async () => {
  p = makePrincipals();
  file = makeFile(256 * SEG, SEG); // 16 MiB: far more than flow control lets through to a client that does not read
  ch = await startFakeClearinghouse(p.ch);
  contactPoint = await startFakeContactPoint(p.ch.publicKey, [file]);
  ch.areas.set('202', { price: 1, contactPoints: [{ address: contactPoint.address, publicKey: contactPoint.key.publicKey }] });
  gw = await startGateway(
    gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
      priceCeilingUnitsPerGib: 10,
      contactPointTimeoutMs: 600_000,
      maxFetchesPerClient: 1,
      streamStallMs: STALL_MS,
    }),
    QUIET,
  );
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await contactPoint?.stop();
  await ch?.stop();
  p?.cleanup();
});

/** Fetches the whole file, reading everything; resolves with the ciphertext byte count or rejects with the ServiceError. */
function fetchAll(identity: Identity): Promise<number> {
  const client = gatewayClient(gw, identity);
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    const call = client.Fetch({ verifyCap: formatCap(file.verifyCap('202')), offset: 0, length: 0 });
    call.on('data', (c: { segment?: { ciphertext?: Buffer } }) => (bytes += c.segment?.ciphertext?.length ?? 0));
    call.on('error', (e: ServiceError) => reject(e));
    call.on('end', () => resolve(bytes));
  }).finally(() => client.close());
}

describe('gateway: slow clients', () => {
  it('a client that never reads is limited to its own slot and cut off by the stall deadline', async () => {
    const client = gatewayClient(gw, p.client);
    const started = Date.now();
    const stalled = new Promise<ServiceError | 'ended'>((resolve) => {
      const call = client.Fetch({ verifyCap: formatCap(file.verifyCap('202')), offset: 0, length: 0 });
      call.on('error', (e: ServiceError) => resolve(e));
      call.on('end', () => resolve('ended'));
      call.once('data', () => call.pause());
    });
    await new Promise((r) => setTimeout(r, 300));
    await expect(fetchAll(p.client)).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/too many Fetch calls.*limit 1 per caller/) });
    // Another client is served in full meanwhile.
    await expect(fetchAll(p.otherClient)).resolves.toBe(256 * SEG);
    expect(await stalled).not.toBe('ended');
    expect(Date.now() - started).toBeLessThan(STALL_MS + 1000 + 4000);
    client.close();
    // The slot is free again.
    await expect(fetchAll(p.client)).resolves.toBe(256 * SEG);
  }, 30_000);
});
