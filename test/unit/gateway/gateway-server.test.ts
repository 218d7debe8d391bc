/**
 * The gateway over real gRPC: a real gateway, fake contact points serving
 * stored shares (with scripted misbehaviour) and a fake clearinghouse
 * signing resolutions (fixtures.ts).
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { formatCap } from '../../../libs/caps/index.js';
import { bytesEqual, toHex } from '../../../libs/crypto/index.js';
import { gatewaySegments } from '../../../libs/client/gateway-segments.js';
import { decryptSegment } from '../../../libs/format/index.js';
import { startGateway, type RunningGateway } from '../../../services/gateway/index.js';
import {
  gatewayTestConfig,
  HOME_AREA,
  fetchRaw,
  gatewayClient,
  getUsage,
  makeFile,
  makePrincipals,
  plaintextOf,
  startFakeClearinghouse,
  startFakeContactPoint,
  type FakeClearinghouse,
  type FakeContactPoint,
  type Misbehaviour,
  type Principals,
  type TestFile,
  QUIET,
} from './fixtures.js';

const SEG = 1024;
const CEILING = 100;

let p: Principals;
let ch: FakeClearinghouse;
let gw: RunningGateway;
const contactPoints: FakeContactPoint[] = [];
let big: TestFile; // 5 segments + 7 bytes
const small: TestFile[] = [];

async function cp(misbehaviour?: Misbehaviour): Promise<FakeContactPoint> {
  const c = await startFakeContactPoint(p.ch.publicKey, [big, ...small], misbehaviour);
  contactPoints.push(c);
  return c;
}

/** Registers `area` at the fake clearinghouse with these contact points. */
function area(code: string, cps: { address: string; key: { publicKey: Uint8Array } }[], price = 10): void {
  ch.areas.set(code, { price, contactPoints: cps.map((c) => ({ address: c.address, publicKey: c.key.publicKey })) });
}

const DOWN = { address: '127.0.0.1:1', key: { publicKey: new Uint8Array(32).fill(7) } };

function ciphertextBytes(segments: { ciphertext: Uint8Array }[]): number {
  return segments.reduce((n, s) => n + s.ciphertext.length, 0);
}

async function usageOf(client: Uint8Array, code: string) {
  return (await gw.usage()).find((l) => bytesEqual(l.client, client) && l.remoteAreaCode === code);
}

beforeAll(async () => {
  p = makePrincipals();
  big = makeFile(5 * SEG + 7, SEG);
  for (const size of [0, 1, SEG - 1, SEG, SEG + 1]) small.push(makeFile(size, SEG));
  ch = await startFakeClearinghouse(p.ch);
  gw = await startGateway(
    gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
      priceCeilingUnitsPerGib: CEILING,
      resolutionCacheMs: 0,
      contactPointTimeoutMs: 1000,
    }),
    QUIET,
  );
  area('202', [await cp(), await cp()]);
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all(contactPoints.map((c) => c.stop()));
  await ch?.stop();
  p?.cleanup();
});

describe('gateway: exact bytes', () => {
  it('forwards the UEB once and every segment of a whole file, which decrypts to the exact plaintext', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('202')));
    expect(got.error).toBeUndefined();
    expect(got.uebs).toHaveLength(1);
    expect(got.segments.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(bytesEqual(plaintextOf(big, got, 0, big.plaintext.length), big.plaintext)).toBe(true);
  });

  it('returns exact bytes for files of 0, 1, segment-1, segment and segment+1 bytes', async () => {
    for (const f of small) {
      const got = await fetchRaw(gw, p.client, formatCap(f.verifyCap('202')));
      expect(got.error).toBeUndefined();
      expect(got.uebs).toHaveLength(1);
      expect(bytesEqual(plaintextOf(f, got, 0, f.plaintext.length), f.plaintext)).toBe(true);
    }
  });

  it('returns exactly the segments of ranges at segment boundaries, with exact bytes', async () => {
    const ranges: [number, number, number[]][] = [
      [SEG, SEG, [1]],
      [SEG - 1, 2, [0, 1]],
      [2 * SEG, 2 * SEG, [2, 3]],
      [5 * SEG, 7, [5]],
      [3 * SEG + 5, 0, [3, 4, 5]],
    ];
    for (const [offset, length, indices] of ranges) {
      const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('202')), offset, length);
      expect(got.error).toBeUndefined();
      expect(got.segments.map((s) => s.index)).toEqual(indices);
      const len = length || big.plaintext.length - offset;
      expect(bytesEqual(plaintextOf(big, got, offset, len), big.plaintext.subarray(offset, offset + len))).toBe(true);
    }
  });

  it('serves the libs/client long-distance path, which verifies again and decrypts to the exact bytes', async () => {
    const parts: Uint8Array[] = [];
    for await (const s of gatewaySegments({ address: gw.address, publicKey: gw.publicKey, identity: p.client }, big.verifyCap('202'), { offset: SEG, length: 3 * SEG })) {
      parts.push(decryptSegment(big.readCap.readKey, s.index, s.ciphertext));
    }
    expect(bytesEqual(Buffer.concat(parts), big.plaintext.subarray(SEG, 4 * SEG))).toBe(true);
  });

  it('calls the contact point as the gateway, with a fresh transfer id per call', async () => {
    const c = contactPoints[0]!;
    const before = c.requests.length;
    await fetchRaw(gw, p.client, formatCap(big.verifyCap('202')));
    await fetchRaw(gw, p.client, formatCap(big.verifyCap('202')));
    const reqs = c.requests.slice(before);
    expect(reqs).toHaveLength(2);
    expect(reqs[0]!.transferId).toMatch(/^[0-9a-f]{32}$/);
    expect(reqs[0]!.transferId).not.toBe(reqs[1]!.transferId);
    expect(c.callers.at(-1)).toBe(toHex(p.gateway.publicKey));
    expect(reqs[0]!.verifyCap).toBe(formatCap(big.verifyCap('202')));
  });
});

describe('gateway: failover', () => {
  const cases: [string, Misbehaviour][] = [
    ['corrupted ciphertext', { kind: 'corrupt-ciphertext', at: 2 }],
    ['a wrong proof', { kind: 'wrong-proof', at: 3 }],
    ['a segment out of order', { kind: 'wrong-index', at: 1 }],
    ['an error status mid-stream', { kind: 'error', at: 2 }],
    ['a stall mid-stream', { kind: 'stall', at: 4 }],
    ['an early end', { kind: 'end-early', at: 1 }],
  ];
  cases.forEach(([what, m], n) => {
    it(`drops a segment stream with ${what}, resumes at the next unforwarded segment on the second contact point, and the client gets each segment once and exact`, async () => {
      const code = String(300 + n);
      const bad = await cp(m);
      const good = await cp();
      area(code, [bad, good]);
      const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap(code)));
      expect(got.error).toBeUndefined();
      expect(got.uebs).toHaveLength(1);
      expect(got.segments.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(bytesEqual(plaintextOf(big, got, 0, big.plaintext.length), big.plaintext)).toBe(true);
      const at = (m as { at: number }).at;
      expect(good.requests).toHaveLength(1);
      expect(Number(good.requests[0]!.offset)).toBe(at * SEG);
      expect(Number(good.requests[0]!.length)).toBe(big.plaintext.length - at * SEG);
    });
  });

  it('resumes a range fetch from the segment after the last one forwarded, not from the range start', async () => {
    const bad = await cp({ kind: 'corrupt-ciphertext', at: 3 });
    const good = await cp();
    area('310', [bad, good]);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('310')), SEG + 10, 3 * SEG);
    expect(got.segments.map((s) => s.index)).toEqual([1, 2, 3, 4]);
    expect(bytesEqual(plaintextOf(big, got, SEG + 10, 3 * SEG), big.plaintext.subarray(SEG + 10, 4 * SEG + 10))).toBe(true);
    expect(Number(good.requests[0]!.offset)).toBe(3 * SEG);
    expect(Number(good.requests[0]!.length)).toBe(SEG + 10);
  });

  it('fails over when the first contact point sends a UEB that does not match the cap', async () => {
    const bad = await cp({ kind: 'bad-ueb' });
    const good = await cp();
    area('311', [bad, good]);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('311')), 0, SEG);
    expect(got.error).toBeUndefined();
    expect(got.uebs).toHaveLength(1);
    expect(got.segments.map((s) => s.index)).toEqual([0]);
  });

  it('counts only the verified ciphertext bytes the client received, never the dropped ones', async () => {
    const bad = await cp({ kind: 'corrupt-ciphertext', at: 2 });
    const good = await cp();
    area('312', [bad, good]);
    const got = await fetchRaw(gw, p.otherClient, formatCap(big.verifyCap('312')));
    expect(got.error).toBeUndefined();
    const line = await usageOf(p.otherClient.keyPair.publicKey, '312');
    expect(line?.verifiedBytes).toBe(ciphertextBytes(got.segments));
    expect(line?.verifiedBytes).toBe(big.plaintext.length);
    expect(line?.transfers).toBe(1);
    expect(line?.priceUnitsPerGib).toBe(10);
  });

  it('ends the client stream with every segment when a contact point keeps its call open after the range, and cancels that call', async () => {
    const lingering = await cp({ kind: 'linger' });
    area('315', [lingering]);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('315')));
    expect(got.error).toBeUndefined();
    expect(bytesEqual(plaintextOf(big, got, 0, big.plaintext.length), big.plaintext)).toBe(true);
    await vi.waitFor(() => expect(lingering.cancelled).toBe(1), { timeout: 10_000 });
  });

  it('answers UNAVAILABLE naming every contact point when all are down, without hanging', async () => {
    area('313', [DOWN, { ...DOWN, address: '127.0.0.1:2' }]);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('313')));
    expect(got.error?.code).toBe(status.UNAVAILABLE);
    expect(got.error?.details).toContain('127.0.0.1:1');
    expect(got.error?.details).toContain('127.0.0.1:2');
    expect(got.segments).toHaveLength(0);
  });

  it('answers UNAVAILABLE when every contact point misbehaves, after forwarding only verified segments', async () => {
    const a = await cp({ kind: 'corrupt-ciphertext', at: 1 });
    const b = await cp({ kind: 'wrong-proof', at: 1 });
    area('314', [a, b]);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('314')));
    expect(got.error?.code).toBe(status.UNAVAILABLE);
    expect(got.error?.details).toMatch(/bad data/);
    expect(got.segments.map((s) => s.index)).toEqual([0]);
  });
});

describe('gateway: refusals', () => {
  it('refuses a grid priced above the ceiling with FAILED_PRECONDITION naming both, before any contact point is called', async () => {
    const c = await cp();
    area('320', [c], CEILING + 1);
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('320')));
    expect(got.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(got.error?.details).toContain(String(CEILING + 1));
    expect(got.error?.details).toContain(String(CEILING));
    expect(got.uebs).toHaveLength(0);
    expect(c.requests).toHaveLength(0);
  });

  it('answers NOT_FOUND for an area code the clearinghouse does not know', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('999')));
    expect(got.error?.code).toBe(status.NOT_FOUND);
    expect(got.error?.details).toContain('999');
  });

  it('refuses a cap of its own area code as local, without asking the clearinghouse', async () => {
    const before = ch.resolves;
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap(HOME_AREA)));
    expect(got.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(got.error?.details).toContain('local caps are not routed through the clearinghouse');
    expect(ch.resolves).toBe(before);
  });

  it('refuses a cap without an area code as local', async () => {
    const { areaCode: _drop, ...noArea } = big.verifyCap('202');
    const got = await fetchRaw(gw, p.client, formatCap(noArea));
    expect(got.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(got.error?.details).toContain('local caps are not routed through the clearinghouse');
  });

  it('refuses a read-cap with INVALID_ARGUMENT and never echoes its read key', async () => {
    const readCap = formatCap({ ...big.readCap, areaCode: '202' });
    const got = await fetchRaw(gw, p.client, readCap);
    expect(got.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(got.error?.details).toContain('verify-cap');
    expect(got.error?.details).not.toContain(readCap.split(':')[2]!);
  });

  it('refuses a range past the end of the file with INVALID_ARGUMENT', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(big.verifyCap('202')), big.plaintext.length, 1);
    expect(got.error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('refuses a client certified by another grid manager', async () => {
    const got = await fetchRaw(gw, p.stranger, formatCap(big.verifyCap('202')));
    expect(got.error?.code).toBe(status.UNAUTHENTICATED);
  });

  it('refuses Fetch to an admin (clients only)', async () => {
    const got = await fetchRaw(gw, p.admin, formatCap(big.verifyCap('202')));
    expect(got.error?.code).toBe(status.PERMISSION_DENIED);
  });
});

describe('gateway: usage and cancellation', () => {
  it('returns the usage lines to an admin through GetUsage, equal to the bytes clients received', async () => {
    const mine = await fetchRaw(gw, p.otherClient, formatCap(big.verifyCap('202')), SEG, SEG);
    expect(mine.error).toBeUndefined();
    const lines = await getUsage(gw, p.admin);
    const line = lines.find((l) => bytesEqual(new Uint8Array(l.client), p.otherClient.keyPair.publicKey) && l.remoteAreaCode === '202');
    expect(Number(line?.verifiedBytes)).toBe(ciphertextBytes(mine.segments));
    expect(Number(line?.transfers)).toBe(1);
    expect(Number(line?.priceUnitsPerGib)).toBe(10);
  });

  it('refuses GetUsage to a client', async () => {
    await expect(getUsage(gw, p.client)).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it('cancels the upstream call when the client cancels', async () => {
    const patient = await startGateway(
      gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
        priceCeilingUnitsPerGib: CEILING,
        contactPointTimeoutMs: 600_000,
      }),
      QUIET,
    );
    try {
      const stalling = await cp({ kind: 'stall', at: 1 });
      area('330', [stalling]);
      const client = gatewayClient(patient, p.client);
      const call = client.Fetch({ verifyCap: formatCap(big.verifyCap('330')), offset: 0, length: 0 });
      call.on('error', () => undefined);
      await new Promise<void>((resolve) => call.on('data', (c: { part?: string }) => c.part === 'segment' && resolve()));
      call.cancel();
      await vi.waitFor(() => expect(stalling.cancelled).toBe(1), { timeout: 10_000 });
      client.close();
    } finally {
      await patient.stop();
    }
  });

  it('refuses a fetch beyond maxConcurrentFetches with UNAVAILABLE naming the limit', async () => {
    const busy = await startGateway(
      gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
        priceCeilingUnitsPerGib: CEILING,
        contactPointTimeoutMs: 600_000,
        maxConcurrentFetches: 1,
      }),
      QUIET,
    );
    const client = gatewayClient(busy, p.client);
    try {
      const stalling = await cp({ kind: 'stall', at: 1 });
      area('331', [stalling]);
      const call = client.Fetch({ verifyCap: formatCap(big.verifyCap('331')), offset: 0, length: 0 });
      call.on('error', () => undefined);
      await new Promise<void>((resolve) => call.on('data', (c: { part?: string }) => c.part === 'segment' && resolve()));
      const second = await fetchRaw(busy, p.client, formatCap(big.verifyCap('202')));
      expect(second.error?.code).toBe(status.UNAVAILABLE);
      expect(second.error?.details).toContain('limit 1');
      call.cancel();
    } finally {
      client.close();
      await busy.stop();
    }
  });
});
