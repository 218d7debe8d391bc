/**
 * Segments larger than libs/rpc's 16 MiB default message limit go through
 * the gateway: a (fake, real gRPC) contact point sends a 17 MiB segment with
 * its proof, the gateway receives it on its contact-point channel and
 * forwards it to the client. Both limits come from one constant
 * (libs/format MAX_SEGMENT_MESSAGE_BYTES), which covers the largest segment
 * the client config allows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCap } from '../../../libs/caps/index.js';
import { MAX_PROOF_HASHES, MAX_SEGMENT_MESSAGE_BYTES, MAX_SEGMENT_SIZE } from '../../../libs/format/index.js';
import { clientConfigSchema } from '../../../libs/client/index.js';
import { CHANNEL_OPTIONS } from '../../../libs/rpc/index.js';
import { startGateway, type RunningGateway } from '../../../services/gateway/index.js';
import {
  fetchRaw,
  gatewayTestConfig,
  makeFile,
  makePrincipals,
  plaintextOf,
  QUIET,
  startFakeClearinghouse,
  startFakeContactPoint,
  type FakeClearinghouse,
  type FakeContactPoint,
  type Principals,
  type TestFile,
} from './fixtures.js';

const MIB = 1024 * 1024;
const SEG = 17 * MIB;

let p: Principals;
let ch: FakeClearinghouse;
let cp: FakeContactPoint;
let gw: RunningGateway;
let file: TestFile;

beforeAll(async () => {
  p = makePrincipals();
  file = makeFile(SEG + 100, SEG); // one 17 MiB segment and a 100-byte one
  ch = await startFakeClearinghouse(p.ch);
  cp = await startFakeContactPoint(p.ch.publicKey, [file]);
  ch.areas.set('202', { price: 1, contactPoints: [{ address: cp.address, publicKey: cp.key.publicKey }] });
  gw = await startGateway(gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, { priceCeilingUnitsPerGib: 10 }), QUIET);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await cp?.stop();
  await ch?.stop();
  p?.cleanup();
});

describe('gateway message limit', () => {
  it('is one constant covering the largest segment the client config allows, plus the longest proof', () => {
    const largest = clientConfigSchema.shape.encoding.parse({ k: 1, n: 1, happy: 1, segmentSize: MAX_SEGMENT_SIZE }).segmentSize;
    expect(largest).toBe(MAX_SEGMENT_SIZE);
    expect(MAX_SEGMENT_MESSAGE_BYTES).toBeGreaterThanOrEqual(MAX_SEGMENT_SIZE + MAX_PROOF_HASHES * 32);
    expect(MAX_SEGMENT_MESSAGE_BYTES).toBeGreaterThan(CHANNEL_OPTIONS['grpc.max_receive_message_length'] as number);
  });

  it('relays a 17 MiB segment from a contact point to the client', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap('202')));
    expect(got.error).toBeUndefined();
    expect(got.segments.map((s) => s.ciphertext.length)).toEqual([SEG, 100]);
    expect(Buffer.from(plaintextOf(file, got, 0, file.plaintext.length)).equals(Buffer.from(file.plaintext))).toBe(true);
  }, 60_000);
});
