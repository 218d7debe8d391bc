/**
 * Long distance end to end (issue 4), every hop real and in-process
 * (test/e2e/fixtures/federation.ts): files put in grid A (101) are fetched
 * from grid B (102) — and C (103) — through the home gateway, the
 * clearinghouse's resolution and the remote contact points, down to the
 * remote storage servers. Request messages of EVERY service are captured
 * server-side to prove the read key never leaves the client; A's contact
 * points can be told to corrupt their responses to prove the gateway
 * verifies before it counts or forwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { securedClient, issueCertificate, type Identity } from '../../libs/auth/index.js';
import { formatCap, toVerifyCap, withAreaCode, type ReadCap } from '../../libs/caps/index.js';
import { clientIdentity, connectGrid, downloadFile, gatewaySegments, uploadFile, type ClientConfig } from '../../libs/client/index.js';
import { generateKeyPair, randomBytes, toHex } from '../../libs/crypto/index.js';
import { NotFoundError, PreconditionError, UnavailableError } from '../../libs/errors/index.js';
import { decryptSegment, type ByteRange } from '../../libs/format/index.js';
import { contactPointProto, gatewayProto } from '../../libs/rpc/index.js';
import type { ContactPointClient, GatewayClient, SegmentChunk } from '../../libs/rpc/proto-types.js';
import { CONTACT_POINT_MESSAGE_LIMIT } from '../../services/contact-point/index.js';
import { builtCli } from './fixtures/built-cli.js';
import { startFederation, type Federation, type FederationGrid } from './fixtures/federation.js';

const SEG = 4096;
const A = '101';
const B = '102';
const C = '103';

// ---- request capture on every service -------------------------------------------------------------

/** Read keys of every file uploaded here, registered BEFORE the upload so that every message is checked. */
const secrets: { raw: Buffer; b32: string; hex: string }[] = [];
/** A read-cap sent to the gateway on purpose, to prove the capture sees request messages. */
let sacrificial: { raw: Buffer; b32: string; hex: string } | undefined;
let sacrificialSeen = false;
const capture = { messages: 0, bytes: 0, methods: new Set<string>(), leaks: [] as string[] };

function secretOf(readKey: Uint8Array): { raw: Buffer; b32: string; hex: string } {
  const b32 = formatCap({ kind: 'read', readKey, uebHash: new Uint8Array(32), k: 1, n: 1, size: 0 }).split(':')[2]!;
  return { raw: Buffer.from(readKey), b32, hex: toHex(readKey) };
}

/** Looks for every registered read key (raw, base32 as in a read-cap, hex) in one request message. */
function scan(method: string, value: unknown, depth = 0): void {
  if (depth > 20 || value === null || value === undefined) return;
  const has = (hit: (s: { raw: Buffer; b32: string; hex: string }) => boolean): void => {
    for (const s of secrets) if (hit(s)) capture.leaks.push(`${method}: read key ${s.hex.slice(0, 8)}…`);
    if (sacrificial && hit(sacrificial)) sacrificialSeen = true;
  };
  if (typeof value === 'string') {
    has((s) => value.includes(s.b32) || value.toLowerCase().includes(s.hex));
  } else if (value instanceof Uint8Array) {
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    capture.bytes += buf.length;
    has((s) => buf.includes(s.raw) || buf.includes(s.b32) || buf.includes(s.hex));
  } else if (Array.isArray(value)) {
    for (const v of value) scan(method, v, depth + 1);
  } else if (typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) scan(method, v, depth + 1);
  }
}

const captureInterceptor: grpc.ServerInterceptor = (method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next(
        new grpc.ServerListenerBuilder()
          .withOnReceiveMessage((message, pass) => {
            capture.messages += 1;
            capture.methods.add(method.path);
            scan(method.path, message);
            pass(message);
          })
          .build(),
      ),
  });

// ---- contact points that vanish without deregistering ------------------------------------------

/** While set, the clearinghouse answers DeregisterContactPoint with UNAVAILABLE without running it (as if the contact point crashed). */
let dropDeregistrations = false;
const dropDeregisterInterceptor: grpc.ServerInterceptor = (method, call) => {
  if (!dropDeregistrations || !method.path.endsWith('/DeregisterContactPoint')) return new grpc.ServerInterceptingCall(call);
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next(
        new grpc.ServerListenerBuilder()
          // Answer as soon as the request arrives; the handler never sees it.
          .withOnReceiveMessage(() => call.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'dropped by the test', metadata: new grpc.Metadata() }))
          .build(),
      ),
  });
};

// ---- tampering with a real contact point's responses -------------------------------------------

/** The segment a tampering contact point spoils (the one before it is sent intact). */
const TAMPER_AT = 1;
type Tamper = 'ciphertext' | 'proof';
/** `${area}/${index}` → how that contact point currently spoils segment TAMPER_AT. */
const tampering = new Map<string, Tamper>();
let tampered = 0;

function tamperInterceptors(area: string, index: number): grpc.ServerInterceptor[] {
  const spoil: grpc.ServerInterceptor = (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendMessage: (message, next) => {
        const mode = tampering.get(`${area}/${index}`);
        const chunk = message as SegmentChunk;
        const seg = chunk.segment;
        if (!mode || !seg || Number(seg.index) !== TAMPER_AT) return next(message);
        tampered += 1;
        const ciphertext = Buffer.from(seg.ciphertext as Uint8Array);
        const proof = (seg.proof ?? []).map((p) => Buffer.from(p as Uint8Array));
        if (mode === 'ciphertext') ciphertext[ciphertext.length >> 1]! ^= 0x01;
        else proof[0] = Buffer.from(randomBytes(proof[0]!.length));
        next({ ...chunk, segment: { ...seg, ciphertext, proof } });
      },
    });
  return [spoil];
}

// ---- helpers ----------------------------------------------------------------------------------------

let fed: Federation;
let uploads = 0;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Uploads `data` in grid `g` with the real client; the read key is registered with the capture first. */
async function put(g: FederationGrid, data: Uint8Array, segmentSize = SEG): Promise<ReadCap> {
  const readKey = randomBytes(32);
  secrets.push(secretOf(readKey));
  const path = join(fed.dir, `upload-${uploads++}`);
  writeFileSync(path, data);
  const conn = await connectGrid(g.clientConfig);
  try {
    const { cap } = await uploadFile(conn, path, { readKey, encoding: { segmentSize } });
    expect(cap.areaCode).toBe(g.areaCode);
    return cap;
  } finally {
    conn.close();
    rmSync(path, { force: true });
  }
}

/** Downloads `cap` with the real client of grid `g` (long distance: through its gateway). */
async function get(g: FederationGrid, cap: ReadCap, range?: ByteRange, config: ClientConfig = g.clientConfig): Promise<Buffer> {
  const conn = await connectGrid(config);
  const parts: Buffer[] = [];
  try {
    await downloadFile(conn, cap, async (chunk) => void parts.push(Buffer.from(chunk)), range ? { range } : {});
  } finally {
    conn.close();
  }
  return Buffer.concat(parts);
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

const remoteMetered = async (g: FederationGrid): Promise<number> => {
  let n = 0;
  for (const c of g.contactPoints) n += (await c.running?.store.totalBytes()) ?? 0;
  return n;
};

beforeAll(async () => {
  fed = await startFederation({
    grids: 3,
    interceptors: [captureInterceptor, dropDeregisterInterceptor],
    contactPointInterceptors: tamperInterceptors,
    encoding: { segmentSize: SEG },
  });
}, 120_000);

afterAll(async () => {
  await fed?.stop();
});

// ---- the tests -------------------------------------------------------------------------------------

describe('fetch from grid B of files put in grid A', () => {
  for (const size of [0, 1, SEG - 1, SEG, SEG + 1]) {
    it(`returns the exact bytes of a ${size}-byte file`, async () => {
      const data = randomBytes(size);
      const cap = await put(fed.grid(A), data);
      const got = await get(fed.grid(B), cap);
      expect(got.length).toBe(size);
      expect(sha256(got)).toBe(sha256(data));
    });
  }

  it('returns the exact bytes of a 32 MiB file (1 MiB segments)', async () => {
    const data = randomBytes(32 * 1024 * 1024);
    const cap = await put(fed.grid(A), data, 1024 * 1024);
    const got = await get(fed.grid(B), cap);
    expect(got.length).toBe(data.length);
    expect(sha256(got)).toBe(sha256(data));
  });

  it('returns exact bytes for ranges that start, end or straddle segment boundaries', async () => {
    const data = randomBytes(4 * SEG + 100);
    const cap = await put(fed.grid(A), data);
    const ranges: ByteRange[] = [
      { offset: 0, length: SEG },
      { offset: SEG, length: SEG },
      { offset: SEG - 1, length: 2 },
      { offset: 2 * SEG - 1, length: SEG + 2 },
      { offset: 3 * SEG, length: SEG + 100 },
      { offset: 4 * SEG, length: 100 },
      { offset: 4 * SEG + 99, length: 1 },
    ];
    for (const r of ranges) {
      const got = await get(fed.grid(B), cap, r);
      expect(got.equals(Buffer.from(data.subarray(r.offset, r.offset + r.length))), `range ${r.offset}+${r.length}`).toBe(true);
    }
  });
});

describe('a contact point that corrupts what it sends', () => {
  for (const mode of ['ciphertext', 'proof'] as const) {
    it(`(${mode}) is detected by the gateway, which counts only the bytes the client received and fails over`, async () => {
      const data = randomBytes(3 * SEG + 5);
      const cap = await put(fed.grid(A), data);
      const home = fed.grid(B);
      const client = await home.addClient({ name: `tamper-${mode}` });
      // Spoil the contact point the gateway tries first (resolutions list the freshest registration first).
      const first = (await fed.resolve(A)).contactPoints[0]!.address;
      const index = fed.grid(A).contactPoints.findIndex((c) => c.address === first);
      tampering.set(`${A}/${index}`, mode);
      const before = tampered;
      const fetchesBefore = home.fetches.length;
      let received = 0;
      const plain: Buffer[] = [];
      try {
        const identity = clientIdentity(client.config);
        for await (const seg of gatewaySegments({ address: home.gateway.address, publicKey: home.gateway.publicKey, identity }, toVerifyCap(cap), { offset: 0, length: data.length })) {
          received += seg.ciphertext.length;
          plain.push(Buffer.from(decryptSegment(cap.readKey, seg.index, seg.ciphertext)));
        }
      } finally {
        tampering.delete(`${A}/${index}`);
      }
      expect(tampered).toBeGreaterThan(before);
      expect(sha256(Buffer.concat(plain))).toBe(sha256(data));
      const report = home.fetches.slice(fetchesBefore).find((f) => toHex(f.client) === client.config.publicKey)!;
      expect(report.attempts.map((a) => a.address)).toEqual([first, fed.grid(A).contactPoints[1 - index]!.address]);
      expect(report.attempts[0]!.failure).toBeDefined();
      expect(report.attempts[0]!.segments).toBe(TAMPER_AT);
      expect(report.attempts[1]!.failure).toBeUndefined();
      const line = (await home.gateway.usage()).find((l) => toHex(l.client) === client.config.publicKey && l.remoteAreaCode === A)!;
      expect(received).toBe(data.length);
      expect(line.verifiedBytes).toBe(received);
    });
  }
});

describe('refusals', () => {
  it('both contact points of A stopped → UNAVAILABLE at the client, then fetches work again once they are back', async () => {
    const cap = await put(fed.grid(A), randomBytes(SEG + 1));
    const remote = fed.grid(A);
    await remote.stopContactPoint(0);
    await remote.stopContactPoint(1);
    try {
      const err = await failureOf(get(fed.grid(B), cap));
      expect(err).toBeInstanceOf(UnavailableError);
    } finally {
      await remote.restartContactPoint(0);
      await remote.restartContactPoint(1);
    }
    expect((await get(fed.grid(B), cap)).length).toBe(SEG + 1);
  });

  it('an unknown area code → NOT_FOUND at the client', async () => {
    const cap = await put(fed.grid(A), randomBytes(10));
    const err = await failureOf(get(fed.grid(B), withAreaCode(cap, '999')));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(String((err as Error).message)).toContain('999');
  });

  it('a price above the gateway’s ceiling → FAILED_PRECONDITION naming the price, before any byte moves', async () => {
    const cap = await put(fed.grid(A), randomBytes(2 * SEG));
    const remote = fed.grid(A);
    const meteredBefore = await remoteMetered(remote);
    await fed.admin.setPrice(A, 1001);
    try {
      const err = await failureOf(get(fed.grid(B), cap));
      expect(err).toBeInstanceOf(PreconditionError);
      expect(String((err as Error).message)).toContain('1001');
    } finally {
      await fed.admin.setPrice(A, 1);
    }
    expect(await remoteMetered(remote)).toBe(meteredBefore);
  });

  describe('a gateway the clearinghouse did not approve is rejected by the contact point', () => {
    const fetchAsGateway = async (identity: Identity, cap: ReadCap): Promise<grpc.ServiceError | undefined> => {
      const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
      const client = securedClient<ContactPointClient>(Ctor, fed.grid(A).contactPoints[0]!, identity, {
        channelOptions: { 'grpc.max_receive_message_length': CONTACT_POINT_MESSAGE_LIMIT },
      });
      try {
        return await new Promise<grpc.ServiceError | undefined>((resolve) => {
          const call = client.FetchSegments({ verifyCap: formatCap(toVerifyCap(cap)), offset: 0, length: 0, transferId: 'unapproved' });
          call.on('data', () => undefined);
          call.on('error', (e: grpc.ServiceError) => resolve(e));
          call.on('end', () => resolve(undefined));
        });
      } finally {
        client.close();
      }
    };

    it('with only a gateway certificate from its grid manager', async () => {
      const cap = await put(fed.grid(A), randomBytes(SEG));
      const key = generateKeyPair();
      const cert = await fed.grid(B).grid.admin.approve({ role: 'gateway', subject: key.publicKey, name: 'unapproved-gateway' });
      const before = await remoteMetered(fed.grid(A));
      const err = await fetchAsGateway({ keyPair: key, certificates: [cert] }, cap);
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err?.details).toMatch(/not trusted for role gateway/);
      expect(await remoteMetered(fed.grid(A))).toBe(before);
    });

    it('with a gateway-approval certificate signed by a key other than the clearinghouse’s', async () => {
      const cap = await put(fed.grid(A), randomBytes(SEG));
      const key = generateKeyPair();
      const now = Date.now();
      const forged = issueCertificate(generateKeyPair(), { role: 'gateway-approval', subject: key.publicKey, grid: B, notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} });
      const before = await remoteMetered(fed.grid(A));
      const err = await fetchAsGateway({ keyPair: key, certificates: [forged] }, cap);
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err?.details).toMatch(/not trusted for role gateway-approval/);
      expect(await remoteMetered(fed.grid(A))).toBe(before);
    });

    it('while the approved gateway of B is served (the same call, the clearinghouse’s approval)', async () => {
      const cap = await put(fed.grid(A), randomBytes(SEG));
      expect(await fetchAsGateway(fed.grid(B).gatewayIdentity, cap)).toBeUndefined();
    });
  });
});

describe('resilience and concurrency', () => {
  it('7 of 10 storage servers of grid A down → the long-distance fetch still returns exact bytes', async () => {
    const data = randomBytes(3 * SEG + 17);
    const cap = await put(fed.grid(A), data);
    const remote = fed.grid(A).grid;
    const down = [0, 1, 2, 3, 4, 5, 6];
    for (const i of down) await remote.stopServer(i);
    try {
      const got = await get(fed.grid(B), cap);
      expect(sha256(got)).toBe(sha256(data));
    } finally {
      for (const i of down) await remote.restartServer(i);
    }
  });

  it('three grids: A fetches from B and C concurrently, exact bytes from each', async () => {
    const fromB = randomBytes(5 * SEG + 3);
    const fromC = randomBytes(6 * SEG + 7);
    const [capB, capC] = await Promise.all([put(fed.grid(B), fromB), put(fed.grid(C), fromC)]);
    const [gotB, gotC] = await Promise.all([get(fed.grid(A), capB), get(fed.grid(A), capC)]);
    expect(sha256(gotB)).toBe(sha256(fromB));
    expect(sha256(gotC)).toBe(sha256(fromC));
    const areas = fed.grid(A).fetches.map((f) => f.areaCode);
    expect(areas).toContain(B);
    expect(areas).toContain(C);
  });

  it('the built CLI `intergrid get CAP --config B/client.json --range S-E` writes the exact bytes of a long-distance cap', async () => {
    const data = randomBytes(3 * SEG + 11);
    const cap = await put(fed.grid(A), data);
    const [start, end] = [SEG - 3, 2 * SEG + 4]; // inclusive, across two boundaries
    const child = spawn(process.execPath, [builtCli(), 'get', formatCap(cap), '--config', fed.grid(B).clientConfigPath, '--range', `${start}-${end}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(Buffer.concat(out).equals(Buffer.from(data.subarray(start, end + 1)))).toBe(true);
  });
});

describe('the read key never leaves the client', () => {
  it('no request message received by any service contains a read key or a read-cap', async () => {
    // The capture works: a read-cap sent to the gateway on purpose is seen.
    sacrificial = secretOf(randomBytes(32));
    const readCapText = formatCap({ kind: 'read', readKey: sacrificial.raw, uebHash: randomBytes(32), k: 3, n: 10, size: 10, areaCode: A });
    const Ctor = gatewayProto().intergrid.gateway.Gateway;
    const g = fed.grid(B);
    const gw = securedClient<GatewayClient>(Ctor, g.gateway, clientIdentity(g.clientConfig));
    try {
      await new Promise<void>((resolve) => {
        const call = gw.Fetch({ verifyCap: readCapText, offset: 0, length: 0 });
        call.on('data', () => undefined);
        call.on('error', () => resolve());
        call.on('end', () => resolve());
      });
    } finally {
      gw.close();
    }
    expect(sacrificialSeen).toBe(true);

    expect(secrets.length).toBeGreaterThan(10);
    // Every kind of service was captured: storage, grid manager, clearinghouse, contact point, gateway.
    const methods = [...capture.methods].join(' ');
    for (const svc of ['storage', 'gridmanager', 'clearinghouse', 'contactpoint', 'gateway']) expect(methods.toLowerCase()).toContain(`intergrid.${svc}.`);
    expect(capture.bytes).toBeGreaterThan(32 * 1024 * 1024);
    expect(capture.leaks).toEqual([]);
  });
});

describe('contact points that vanish without deregistering', () => {
  it('both contact points of A gone while still listed at the clearinghouse → UNAVAILABLE at the client naming both', async () => {
    const cap = await put(fed.grid(A), randomBytes(SEG + 1));
    const remote = fed.grid(A);
    const addresses = remote.contactPoints.map((c) => c.address);
    dropDeregistrations = true;
    try {
      await remote.stopContactPoint(0);
      await remote.stopContactPoint(1);
      // Still listed: the gateway has to find out by calling them.
      const listed = (await fed.resolve(A)).contactPoints.map((c) => c.address);
      expect(listed).toEqual(expect.arrayContaining(addresses));
      const err = await failureOf(get(fed.grid(B), cap));
      expect(err).toBeInstanceOf(UnavailableError);
      for (const a of addresses) expect((err as Error).message).toContain(a);
    } finally {
      dropDeregistrations = false;
      await remote.restartContactPoint(0);
      await remote.restartContactPoint(1);
    }
    // Back on the same addresses: the gateway's channels to them reconnect.
    expect((await get(fed.grid(B), cap)).length).toBe(SEG + 1);
  });
});
