/**
 * The contact point against a real in-process grid (grid manager + 10
 * storage servers, 3-of-10): a gateway of another area code, approved by a
 * clearinghouse key made here, fetches verified ciphertext segments with a
 * raw gRPC client. The clearinghouse itself is not running: registration
 * failures must not stop the contact point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { securedClient, issueCertificate, writeCertificateFile, writeKeyFile, type Identity, type Role } from '../../libs/auth/index.js';
import { clientIdentity, connectGrid, uploadFile } from '../../libs/client/index.js';
import { formatCap, toVerifyCap, withAreaCode, type ReadCap, type VerifyCap } from '../../libs/caps/index.js';
import { generateKeyPair, randomBytes, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { decryptSegment, layoutFromUeb, openUeb, verifyCiphertextSegment } from '../../libs/format/index.js';
import { contactPointProto } from '../../libs/rpc/index.js';
import type { ContactPointClient, FetchSegmentsRequest, SegmentChunk__Output, ServedUsage__Output } from '../../libs/rpc/proto-types.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';
import { loadAdminIdentity } from '../../services/grid-manager/index.js';
import { CONTACT_POINT_MESSAGE_LIMIT, resolveContactPointConfig, startContactPoint, type RunningContactPoint } from '../../services/contact-point/index.js';

const SEG = 4096;
const HOME = '101';
const REMOTE = '202';
const HOUR = 60 * 60 * 1000;

let grid: LocalGrid;
let cp: RunningContactPoint;
let clearinghouse: KeyPair;
let gateway: Identity;
/** Every request message the contact point received (captured server-side). */
const received: unknown[] = [];
const clients: grpc.Client[] = [];
/** Read keys of every file uploaded here except the one deliberately sent as a read-cap. */
const secretKeys: Uint8Array[] = [];
let sacrificialKey: Uint8Array | undefined;
let transfers = 0;

function approval(subject: KeyPair, grid: string, role: Role = 'gateway-approval', issuer: KeyPair = clearinghouse) {
  const now = Date.now();
  return issueCertificate(issuer, { role, subject: subject.publicKey, grid, notBefore: now - HOUR, notAfter: now + HOUR, limits: {} });
}

function gatewayOf(area: string, issuer: KeyPair = clearinghouse): Identity {
  const keyPair = generateKeyPair();
  return { keyPair, certificates: [approval(keyPair, area, 'gateway-approval', issuer)] };
}

function client(identity: Identity): ContactPointClient {
  const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
  const c = securedClient<ContactPointClient>(Ctor, cp, identity, { channelOptions: { 'grpc.max_receive_message_length': CONTACT_POINT_MESSAGE_LIMIT } });
  clients.push(c);
  return c;
}

interface Fetched {
  chunks: SegmentChunk__Output[];
  error?: grpc.ServiceError;
}

function fetch(req: Partial<FetchSegmentsRequest>, identity: Identity = gateway): Promise<Fetched> {
  const full: FetchSegmentsRequest = { transferId: `t-${++transfers}`, offset: 0, length: 0, ...req };
  return new Promise((resolve) => {
    const chunks: SegmentChunk__Output[] = [];
    const call = client(identity).FetchSegments(full);
    call.on('data', (c: SegmentChunk__Output) => chunks.push(c));
    call.on('error', (error: grpc.ServiceError) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks }));
  });
}

/** Checks the stream the way a gateway would, then decrypts: the plaintext bytes of [offset, offset+length). */
function verifyAndDecrypt(f: Fetched, read: ReadCap, offset: number, length: number): Buffer {
  expect(f.error).toBeUndefined();
  const [first, ...rest] = f.chunks;
  expect(first?.part).toBe('ueb');
  const ueb = openUeb(first!.ueb!, toVerifyCap(read));
  const layout = layoutFromUeb(ueb);
  const plain: Buffer[] = [];
  let start = -1;
  for (const c of rest) {
    expect(c.part).toBe('segment');
    const s = c.segment!;
    verifyCiphertextSegment(ueb, layout, s.index, s.ciphertext, s.proof);
    if (start < 0) start = s.index * layout.segmentSize;
    plain.push(Buffer.from(decryptSegment(read.readKey, s.index, s.ciphertext)));
  }
  if (start < 0) return Buffer.alloc(0);
  const all = Buffer.concat(plain);
  return all.subarray(offset - start, offset - start + length);
}

async function upload(bytes: Uint8Array, name: string, segmentSize = SEG): Promise<ReadCap> {
  const path = join(grid.dir, name);
  writeFileSync(path, bytes);
  const conn = await connectGrid(grid.clientConfig);
  try {
    const cap = (await uploadFile(conn, path, { encoding: { segmentSize } })).cap;
    if (name === 'sacrificial') sacrificialKey = cap.readKey;
    else secretKeys.push(cap.readKey);
    return cap;
  } finally {
    conn.close();
  }
}

function vcapText(read: ReadCap): string {
  return formatCap(toVerifyCap(read));
}

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10, areaCode: HOME });
  clearinghouse = generateKeyPair();
  gateway = gatewayOf(REMOTE);
  const dir = join(grid.dir, 'contact-point');
  mkdirSync(dir, { recursive: true });
  const key = generateKeyPair();
  writeKeyFile(join(dir, 'key.json'), key);
  writeCertificateFile(join(dir, 'certificate.b64'), await grid.admin.approve({ role: 'contact-point', subject: key.publicKey, name: 'cp-1' }));
  const config = resolveContactPointConfig({
    listen: '127.0.0.1:0',
    areaCode: HOME,
    dataDir: dir,
    keyFile: join(dir, 'key.json'),
    certificateFile: join(dir, 'certificate.b64'),
    gridManager: { address: grid.gridManagerAddress, publicKey: grid.clientConfig.gridManager.publicKey },
    // Nothing listens there: registration keeps failing, harmlessly.
    clearinghouse: { address: '127.0.0.1:1', publicKey: toHex(clearinghouse.publicKey) },
  });
  const capture: grpc.ServerInterceptor = (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMessage((message, pass) => {
              received.push(message);
              pass(message);
            })
            .build(),
        ),
    });
  cp = await startContactPoint(config, { logger: pino({ level: 'silent' }), interceptors: [capture] });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cp?.stop();
  await grid?.stop();
});

describe('contact point: serving verified segments', () => {
  let data: Buffer;
  let read: ReadCap;
  beforeAll(async () => {
    data = nodeRandomBytes(5 * SEG + 77);
    read = await upload(data, 'main');
  });

  it('streams the UEB then every segment with a valid proof, decrypting to the exact file', async () => {
    const f = await fetch({ verifyCap: vcapText(read) });
    expect(f.chunks.length).toBe(1 + 6);
    expect(f.chunks.slice(1).map((c) => Number(c.segment!.index))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(verifyAndDecrypt(f, read, 0, data.length).equals(data)).toBe(true);
  });

  it('counts the ciphertext bytes served per transfer and per gateway', async () => {
    const before = (await cp.store.byGateway()).find((g) => g.gateway === toHex(gateway.keyPair.publicKey))?.bytes ?? 0;
    const f = await fetch({ verifyCap: vcapText(read), transferId: 'metered-1' });
    expect(f.error).toBeUndefined();
    const rec = await cp.store.transfer('metered-1', toHex(gateway.keyPair.publicKey));
    expect(rec).toMatchObject({ bytes: data.length, segments: 6, state: 'done', gatewayGrid: REMOTE });
    const after = (await cp.store.byGateway()).find((g) => g.gateway === toHex(gateway.keyPair.publicKey))!.bytes;
    expect(after - before).toBe(data.length);
  });

  it("reports bytes served per gateway to its grid's admin (GetUsage), and to no one else", async () => {
    const admin = loadAdminIdentity(grid.adminIdentityPath).identity;
    const usage = (identity: Identity) =>
      new Promise<{ err: grpc.ServiceError | null; res?: ServedUsage__Output }>((resolve) =>
        client(identity).GetUsage({}, (err: grpc.ServiceError | null, res?: ServedUsage__Output) => resolve({ err, res })),
      );
    const { err, res } = await usage(admin);
    expect(err).toBeNull();
    const line = res!.lines.find((l) => toHex(l.gateway) === toHex(gateway.keyPair.publicKey))!;
    const total = (await cp.store.byGateway()).find((g) => g.gateway === toHex(gateway.keyPair.publicKey))!;
    expect(line).toMatchObject({ gatewayAreaCode: REMOTE, bytes: total.bytes, transfers: total.transfers });
    expect(line.bytes).toBeGreaterThanOrEqual(data.length);
    expect((await usage(gateway)).err?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it.each([
    { offset: SEG, length: SEG, segments: [1] },
    { offset: SEG - 1, length: 2, segments: [0, 1] },
    { offset: 2 * SEG, length: 0, segments: [2, 3, 4, 5] },
    { offset: 5 * SEG, length: 77, segments: [5] },
    { offset: 0, length: 1, segments: [0] },
  ])('serves exactly the segments covering [$offset, +$length)', async ({ offset, length, segments }) => {
    const f = await fetch({ verifyCap: vcapText(read), offset, length });
    expect(f.chunks.slice(1).map((c) => Number(c.segment!.index))).toEqual(segments);
    const want = length === 0 ? data.length - offset : length;
    expect(verifyAndDecrypt(f, read, offset, want).equals(data.subarray(offset, offset + want))).toBe(true);
  });

  it('sends only the UEB for an empty range at the end of the file', async () => {
    const f = await fetch({ verifyCap: vcapText(read), offset: data.length, length: 0 });
    expect(f.error).toBeUndefined();
    expect(f.chunks.map((c) => c.part)).toEqual(['ueb']);
  });

  it('refuses a range starting past the end with INVALID_ARGUMENT', async () => {
    const f = await fetch({ verifyCap: vcapText(read), offset: data.length + 1, length: 1 });
    expect(f.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('serves an empty file as its UEB alone', async () => {
    const empty = await upload(new Uint8Array(0), 'empty');
    const f = await fetch({ verifyCap: vcapText(empty) });
    expect(f.error).toBeUndefined();
    expect(f.chunks.map((c) => c.part)).toEqual(['ueb']);
    openUeb(f.chunks[0]!.ueb!, toVerifyCap(empty));
  });

  it('stops fetching when the gateway cancels', async () => {
    const big = nodeRandomBytes(200 * SEG);
    const bigCap = await upload(big, 'big');
    const call = client(gateway).FetchSegments({ verifyCap: vcapText(bigCap), transferId: 'cancel-me', offset: 0, length: 0 });
    await new Promise<void>((resolve) => {
      call.on('data', (c: SegmentChunk__Output) => {
        if (c.part === 'segment') {
          call.cancel();
          resolve();
        }
      });
    });
    call.on('error', () => undefined);
    const id = toHex(gateway.keyPair.publicKey);
    for (let i = 0; i < 200 && (await cp.store.transfer('cancel-me', id))?.state === 'open'; i++) await new Promise((r) => setTimeout(r, 50));
    const rec = (await cp.store.transfer('cancel-me', id))!;
    expect(rec.state).toBe('cancelled');
    expect(rec.segments).toBeLessThan(200);
  });

  it('stops reading shares while the gateway is not reading (backpressure), then finishes exactly', async () => {
    const segSize = 64 * 1024;
    // 32 MiB: far more than a non-reading gateway can absorb (a 4 MiB HTTP/2 stream window,
    // libs/rpc/http2-settings.ts, plus grpc-js's 16 queued messages), so the contact point must block.
    const count = 512;
    const slow = nodeRandomBytes(count * segSize);
    const slowCap = await upload(slow, 'slow', segSize);
    const id = toHex(gateway.keyPair.publicKey);
    const call = client(gateway).FetchSegments({ verifyCap: vcapText(slowCap), transferId: 'slow-reader', offset: 0, length: 0 });
    const chunks: SegmentChunk__Output[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('error', reject);
      call.on('end', resolve);
    });
    await new Promise<void>((resolve) => {
      call.on('data', (c: SegmentChunk__Output) => {
        chunks.push(c);
        if (c.part === 'segment' && chunks.length === 2) {
          call.pause();
          resolve();
        }
      });
    });
    // Wait until the contact point has stopped making progress (it is blocked on 'drain').
    let last = -1;
    let stable = 0;
    for (let i = 0; i < 200 && stable < 10; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const n = (await cp.store.transfer('slow-reader', id))?.segments ?? 0;
      stable = n === last ? stable + 1 : 0;
      last = n;
    }
    expect((await cp.store.transfer('slow-reader', id))?.state).toBe('open');
    expect(last).toBeLessThan(count / 2);
    call.resume();
    await done;
    expect(verifyAndDecrypt({ chunks }, slowCap, 0, slow.length).equals(slow)).toBe(true);
    expect(await cp.store.transfer('slow-reader', id)).toMatchObject({ segments: count, bytes: slow.length, state: 'done' });
  });

  it('still serves exact bytes when the shares on 7 of 10 servers are corrupt', async () => {
    const other = nodeRandomBytes(4 * SEG + 99);
    const cap = await upload(other, 'corrupt');
    const si = toHex(toVerifyCap(cap).storageIndex);
    let damaged = 0;
    for (const s of grid.servers.slice(0, 7)) {
      const dir = join(s.dataDir, 'shares', si.slice(0, 2), si);
      for (const f of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, f));
        // Every 97th byte after the header: hits the UEB, hash-tree nodes and every block.
        for (let i = 80; i < bytes.length; i += 97) bytes[i]! ^= 0x5a;
        writeFileSync(join(dir, f), bytes);
        damaged++;
      }
    }
    expect(damaged).toBeGreaterThanOrEqual(7);
    const f = await fetch({ verifyCap: vcapText(cap) });
    expect(verifyAndDecrypt(f, cap, 0, other.length).equals(other)).toBe(true);
  });
});

describe('contact point: who and what it refuses', () => {
  let read: ReadCap;
  beforeAll(async () => {
    read = await upload(nodeRandomBytes(2 * SEG + 5), 'refusals');
  });

  it('refuses a gateway approved for its own grid with PERMISSION_DENIED', async () => {
    const f = await fetch({ verifyCap: vcapText(read) }, gatewayOf(HOME));
    expect(f.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(f.error?.details).toMatch(/other grids/);
    expect(f.chunks).toEqual([]);
  });

  it('refuses a client certificate of its grid as UNAUTHENTICATED or PERMISSION_DENIED', async () => {
    const f = await fetch({ verifyCap: vcapText(read) }, clientIdentity(grid.clientConfig));
    expect([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]).toContain(f.error?.code);
    expect(f.chunks).toEqual([]);
  });

  it('refuses a gateway approval not signed by the clearinghouse key', async () => {
    const f = await fetch({ verifyCap: vcapText(read) }, gatewayOf(REMOTE, generateKeyPair()));
    expect(f.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses a clearinghouse certificate of another role', async () => {
    const keyPair = generateKeyPair();
    const f = await fetch({ verifyCap: vcapText(read) }, { keyPair, certificates: [approval(keyPair, REMOTE, 'clearinghouse-admin')] });
    expect([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]).toContain(f.error?.code);
  });

  it('refuses a read-cap with INVALID_ARGUMENT without echoing the key', async () => {
    // A file of its own, so the main suite's read key never crosses the wire.
    const sacrificial = await upload(nodeRandomBytes(100), 'sacrificial');
    const text = formatCap(sacrificial);
    const f = await fetch({ verifyCap: text });
    expect(f.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(f.error?.details).toMatch(/read-cap/);
    expect(f.error?.details.includes(text.split(':')[2]!)).toBe(false);
  });

  it('refuses a verify-cap of another area code', async () => {
    const f = await fetch({ verifyCap: formatCap(withAreaCode(toVerifyCap(read), '303')) });
    expect(f.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(f.error?.details).toMatch(/area 303/);
  });

  it('refuses a verify-cap without an area code with INVALID_ARGUMENT', async () => {
    const f = await fetch({ verifyCap: formatCap(withAreaCode(toVerifyCap(read), undefined)) });
    expect(f.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('refuses a malformed cap and a missing transfer id with INVALID_ARGUMENT', async () => {
    expect((await fetch({ verifyCap: 'URI:CHK-Verifier:nope' })).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await fetch({ verifyCap: vcapText(read), transferId: '' })).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND, naming the missing shares, for an unknown storage index', async () => {
    const unknown: VerifyCap = { ...toVerifyCap(read), storageIndex: randomBytes(16) };
    const f = await fetch({ verifyCap: formatCap(unknown) });
    expect(f.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(f.error?.details).toMatch(/no shares/);
  });

  it('keeps serving while the clearinghouse is unreachable, recording the registration error', () => {
    expect(cp.registration.lastSuccessMs).toBeUndefined();
    expect(cp.registration.lastError).toBeTruthy();
  });
});

// Last: restarted servers take a moment to accept new channels again, and nothing runs after this.
describe('contact point: storage servers down', () => {
  let data: Buffer;
  let read: ReadCap;
  beforeAll(async () => {
    data = nodeRandomBytes(3 * SEG + 5);
    read = await upload(data, 'seven-down');
  });

  it('still serves exact bytes with 7 of 10 storage servers stopped', async () => {
    const stopped = [0, 1, 2, 3, 4, 5, 6];
    try {
      for (const i of stopped) await grid.stopServer(i);
      const f = await fetch({ verifyCap: vcapText(read) });
      expect(verifyAndDecrypt(f, read, 0, data.length).equals(data)).toBe(true);
    } finally {
      for (const i of stopped) await grid.restartServer(i);
    }
  });

  it('never received a read key in any request message (captured server-side)', () => {
    expect(received.length).toBeGreaterThan(20);
    expect(secretKeys.length).toBeGreaterThan(5);
    const b32Of = (key: Uint8Array) => formatCap({ kind: 'read', readKey: key, uebHash: new Uint8Array(32), k: 1, n: 1, size: 0 }).split(':')[2]!;
    // The capture works: the read-cap sent on purpose is there.
    expect(received.some((m) => JSON.stringify(m).includes(b32Of(sacrificialKey!)))).toBe(true);
    for (const key of secretKeys) {
      const b32 = b32Of(key);
      for (const m of received) {
        const text = JSON.stringify(m);
        expect(text.includes(b32)).toBe(false);
        expect(text.includes(toHex(key))).toBe(false);
        expect(Buffer.from(text).includes(Buffer.from(key))).toBe(false);
      }
    }
  });
});
