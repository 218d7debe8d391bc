/**
 * Backpressure through the gateway: a client that stops reading stops the
 * contact point too (grpc-js flow control end to end), so the gateway's
 * memory does not grow with the file.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
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

const SEG = 64 * 1024;
// Larger than every flow-control window on the path (libs/rpc/http2-settings.ts: 4 MiB per stream per hop).
const SEGMENTS = 768; // 48 MiB

let p: Principals;
let ch: FakeClearinghouse;
let contactPoint: FakeContactPoint;
let gw: RunningGateway;
let file: TestFile;

beforeAll(async () => {
  p = makePrincipals();
  file = makeFile(SEGMENTS * SEG, SEG);
  ch = await startFakeClearinghouse(p.ch);
  contactPoint = await startFakeContactPoint(p.ch.publicKey, [file]);
  ch.areas.set('202', { price: 1, contactPoints: [{ address: contactPoint.address, publicKey: contactPoint.key.publicKey }] });
  gw = await startGateway(
    gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
      priceCeilingUnitsPerGib: 10,
      contactPointTimeoutMs: 600_000,
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

describe('gateway backpressure', () => {
  it('stops pulling from the contact point while the client does not read', async () => {
    const client = gatewayClient(gw, p.client);
    const call = client.Fetch({ verifyCap: formatCap(file.verifyCap('202')), offset: 0, length: 0 });
    call.on('error', () => undefined);
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.pause();
    // Wait until the contact point is held back: its count stops moving.
    let last = -1;
    let steady = 0;
    await vi.waitFor(
      () => {
        const now = contactPoint.segmentsWritten;
        steady = now === last ? steady + 1 : 0;
        last = now;
        expect(steady).toBeGreaterThanOrEqual(10);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(contactPoint.segmentsWritten).toBeLessThan(SEGMENTS);
    // Only verified and forwarded segments are metered: the gateway is not far ahead of the client either.
    const metered = (await gw.usage()).find((l) => l.remoteAreaCode === '202')?.verifiedBytes ?? 0;
    expect(metered).toBeLessThan(SEGMENTS * SEG);
    call.cancel();
    client.close();
  });
});
