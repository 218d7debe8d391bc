/**
 * Test fixtures for the gateway: keys and certificates of one grid (101) and
 * a clearinghouse, in-memory encoded files, FAKE contact points (real gRPC on
 * 127.0.0.1:0 serving proto/contact_point.proto from stored shares, with
 * scripted misbehaviour) and a FAKE clearinghouse serving Resolve with
 * resolutions signed by a test key. The real contact point and clearinghouse
 * are other services; the end-to-end suite runs against them.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  securedClient,
  issueCertificate,
  principalOf,
  secureService,
  writeCertificateFile,
  writeKeyFile,
  type Certificate,
  type Identity,
  type Peer,
  type Role,
} from '../../../libs/auth/index.js';
import { capStorageIndex, parseVerifyCap, toVerifyCap, withAreaCode, type ReadCap, type VerifyCap } from '../../../libs/caps/index.js';
import { generateKeyPair, randomBytes, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { NotFoundError, UnavailableError } from '../../../libs/errors/index.js';
import { signResolution } from '../../../libs/federation/index.js';
import {
  blockRange,
  ciphertextProofRanges,
  decodeSegment,
  decryptSegment,
  segmentsForRange,
  UEB_BYTES,
  MAX_SEGMENT_MESSAGE_BYTES,
  type FileLayout,
} from '../../../libs/format/index.js';
import { bindServer, clearinghouseProto, contactPointProto, gatewayProto, serverStream, stopServer, unary, SERVER_OPTIONS } from '../../../libs/rpc/index.js';
import type { GatewayClient, UsageLine__Output, SegmentChunk, SegmentChunk__Output, FetchSegmentsRequest__Output, ResolveRequest__Output, SignedResolution } from '../../../libs/rpc/proto-types.js';
import { encodeFile } from '../format/helpers.js';
import { resolveGatewayConfig, type GatewayConfig } from '../../../services/gateway/index.js';

export const HOME_AREA = '101';

/** startGateway options for tests whose grid manager address is a placeholder (the revocation poll cannot reach it). */
export const QUIET = { onRevocationPollError: (): void => undefined, onOutboxLog: (): void => undefined };
const DAY = 24 * 60 * 60 * 1000;

/** Issues a certificate valid for a day. */
export function cert(issuer: KeyPair, subject: KeyPair, role: Role, grid: string): Certificate {
  const now = Date.now();
  return issueCertificate(issuer, { role, subject: subject.publicKey, grid, notBefore: now - 60_000, notAfter: now + DAY, limits: {} });
}

/** The principals of one test federation, with key and certificate files on disk. */
export interface Principals {
  dir: string;
  gm: KeyPair;
  ch: KeyPair;
  gateway: KeyPair;
  gatewayKeyFile: string;
  gatewayCertFiles: string[];
  client: Identity;
  otherClient: Identity;
  admin: Identity;
  /** A client certificate issued by some other grid manager. */
  stranger: Identity;
  cleanup(): void;
}

export function makePrincipals(): Principals {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const gm = generateKeyPair();
  const ch = generateKeyPair();
  const gateway = generateKeyPair();
  const gatewayKeyFile = join(dir, 'gateway.key');
  writeKeyFile(gatewayKeyFile, gateway);
  const gatewayCertFiles = [join(dir, 'gateway.cert'), join(dir, 'gateway-approval.cert')];
  writeCertificateFile(gatewayCertFiles[0]!, cert(gm, gateway, 'gateway', HOME_AREA));
  writeCertificateFile(gatewayCertFiles[1]!, cert(ch, gateway, 'gateway-approval', HOME_AREA));
  const member = (role: Role, issuer = gm): Identity => {
    const k = generateKeyPair();
    return { keyPair: k, certificates: [cert(issuer, k, role, HOME_AREA)] };
  };
  return {
    dir,
    gm,
    ch,
    gateway,
    gatewayKeyFile,
    gatewayCertFiles,
    client: member('client'),
    otherClient: member('client'),
    admin: member('admin'),
    stranger: member('client', generateKeyPair()),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A file encoded in memory: shares, its read-cap (no area code) and plaintext. */
export interface TestFile {
  plaintext: Uint8Array;
  layout: FileLayout;
  shares: Uint8Array[];
  readCap: ReadCap;
  /** The verify-cap for `area`. */
  verifyCap(area: string): VerifyCap;
}

export function makeFile(size: number, segmentSize = 1024): TestFile {
  const plaintext = randomBytes(size);
  const enc = encodeFile(plaintext, { k: 3, n: 10, segmentSize }, randomBytes(32));
  return {
    plaintext,
    layout: enc.layout,
    shares: enc.shares,
    readCap: enc.cap,
    verifyCap: (area) => withAreaCode(toVerifyCap(enc.cap), area),
  };
}

/** What a fake contact point does at segment `at` (or at the UEB with at = -1). */
export type Misbehaviour =
  | { kind: 'corrupt-ciphertext'; at: number }
  | { kind: 'wrong-proof'; at: number }
  | { kind: 'wrong-index'; at: number }
  | { kind: 'bad-ueb' }
  | { kind: 'stall'; at: number }
  | { kind: 'error'; at: number }
  | { kind: 'end-early'; at: number }
  /** Sends the whole range correctly, then keeps the call open until cancelled. */
  | { kind: 'linger' };

export interface FakeContactPoint {
  address: string;
  key: KeyPair;
  requests: FetchSegmentsRequest__Output[];
  /** Public keys of the callers, hex. */
  callers: string[];
  /** Calls the gateway cancelled. */
  cancelled: number;
  /** Segment chunks handed to grpc-js so far (all calls). */
  segmentsWritten: number;
  stop(): Promise<void>;
}

/**
 * A contact point serving `files` (by storage index) the way the real one
 * must: the UEB first, then every segment of the range with its proof, read
 * from the stored shares (ciphertext decoded from k blocks, proof from the
 * stored ciphertext tree). Accepts only gateway-approval certificates issued by `chKey`.
 */
export async function startFakeContactPoint(chKey: Uint8Array, files: TestFile[], misbehaviour?: Misbehaviour): Promise<FakeContactPoint> {
  const key = generateKeyPair();
  const byIndex = new Map(files.map((f) => [toHex(capStorageIndex(f.readCap)), f]));
  const fake: Omit<FakeContactPoint, 'stop' | 'address'> = { key, requests: [], callers: [], cancelled: 0, segmentsWritten: 0 };
  const impl = {
    FetchSegments: serverStream<FetchSegmentsRequest__Output, SegmentChunk>('FetchSegments', async (call) => {
      fake.requests.push(call.request);
      fake.callers.push(toHex(principalOf(call).publicKey));
      call.on('cancelled', () => (fake.cancelled += 1));
      const cap = parseVerifyCap(call.request.verifyCap);
      const file = byIndex.get(toHex(cap.storageIndex));
      if (!file) throw new NotFoundError(`no shares for ${toHex(cap.storageIndex)}`);
      const { layout, shares } = file;
      const ueb = shares[0]!.slice(layout.uebOffset, layout.uebOffset + UEB_BYTES);
      if (misbehaviour?.kind === 'bad-ueb') ueb[50] = ueb[50]! ^ 1;
      await write(call, { ueb: Buffer.from(ueb) });
      const offset = Number(call.request.offset);
      const length = Number(call.request.length) || layout.size - offset;
      const span = segmentsForRange(layout, offset, length);
      for (let i = span.first; i <= span.last; i++) {
        const m = misbehaviour && 'at' in misbehaviour && misbehaviour.at === i ? misbehaviour : undefined;
        if (m?.kind === 'stall') {
          await new Promise((r) => call.once('cancelled', r));
          return;
        }
        if (m?.kind === 'error') throw new UnavailableError('storage servers went away');
        if (m?.kind === 'end-early') return;
        const blocks = shares.map((s, shnum) => (shnum < layout.k ? s.slice(blockRange(layout, i).offset, blockRange(layout, i).offset + blockRange(layout, i).length) : null));
        const ciphertext = decodeSegment(layout, i, blocks);
        const proof = ciphertextProofRanges(layout, i).map((r) => shares[0]!.slice(r.offset, r.offset + r.length));
        if (m?.kind === 'corrupt-ciphertext') ciphertext[0] = ciphertext[0]! ^ 0xff;
        if (m?.kind === 'wrong-proof' && proof[0]) proof[0][0] = proof[0][0]! ^ 1;
        const index = m?.kind === 'wrong-index' ? i + 1 : i;
        if (call.cancelled) return;
        fake.segmentsWritten += 1;
        await write(call, { segment: { index, ciphertext: Buffer.from(ciphertext), proof: proof.map((p) => Buffer.from(p)) } });
      }
      if (misbehaviour?.kind === 'linger' && !call.cancelled) await new Promise((r) => call.once('cancelled', r));
    }),
  };
  const secured = secureService(contactPointProto().intergrid.contactpoint.ContactPoint.service, impl, {
    methods: { FetchSegments: ['gateway-approval'] },
    issuersFor: (role) => (role === 'gateway-approval' ? [chKey] : []),
    serverKey: key.publicKey,
  });
  // Sends whole segments, as a real contact point does (its send limit is the largest segment message).
  const server = new grpc.Server({ ...SERVER_OPTIONS, 'grpc.max_send_message_length': MAX_SEGMENT_MESSAGE_BYTES });
  server.addService(secured.definition, secured.implementation);
  const bound = await bindServer(server, '127.0.0.1:0', key);
  return Object.assign(fake, { address: bound.address, stop: () => stopServer(server, 200) });
}

function write(call: grpc.ServerWritableStream<unknown, SegmentChunk>, chunk: SegmentChunk): Promise<void> {
  if (call.write(chunk)) return Promise.resolve();
  // A cancelled call never drains.
  return new Promise((r) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      r();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

/** What the fake clearinghouse answers per area code. */
export interface AreaEntry {
  price: number;
  contactPoints: { address: string; publicKey: Uint8Array }[];
}

export interface FakeClearinghouse {
  address: string;
  areas: Map<string, AreaEntry>;
  resolves: number;
  stop(): Promise<void>;
}

/** Serves Resolve only (role gateway-approval issued by `ch`), signing with `ch`. */
export async function startFakeClearinghouse(ch: KeyPair): Promise<FakeClearinghouse> {
  const gridManager = generateKeyPair().publicKey;
  const fake = { areas: new Map<string, AreaEntry>(), resolves: 0 };
  const impl = {
    Resolve: unary<ResolveRequest__Output, SignedResolution>('Resolve', async (call) => {
      fake.resolves += 1;
      const entry = fake.areas.get(call.request.areaCode);
      if (!entry) throw new NotFoundError(`area code ${call.request.areaCode} is not admitted`);
      const now = Date.now();
      const signed = signResolution(
        { areaCode: call.request.areaCode, gridManager, priceUnitsPerGib: entry.price, issuedAtMs: now, expiresAtMs: now + 60_000, contactPoints: entry.contactPoints },
        ch,
      );
      return { body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) };
    }),
  };
  const secured = secureService(clearinghouseProto().intergrid.clearinghouse.Clearinghouse.service, impl, {
    methods: { Resolve: ['gateway-approval'] },
    issuersFor: (role) => (role === 'gateway-approval' ? [ch.publicKey] : []),
    serverKey: ch.publicKey,
  });
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(secured.definition, secured.implementation);
  const bound = await bindServer(server, '127.0.0.1:0', ch);
  return Object.assign(fake, { address: bound.address, stop: () => stopServer(server, 200) });
}

/** What a client received from the gateway. */
export interface FetchOutcome {
  uebs: Uint8Array[];
  segments: { index: number; ciphertext: Uint8Array }[];
  error?: grpc.ServiceError;
}

/** A raw Gateway client signing as `identity`. */
export function gatewayClient(gateway: Peer, identity: Identity): GatewayClient {
  const Ctor = gatewayProto().intergrid.gateway.Gateway;
  // Receives whole segments, as libs/client's gateway channel does.
  return securedClient<GatewayClient>(Ctor, gateway, identity, { channelOptions: { 'grpc.max_receive_message_length': MAX_SEGMENT_MESSAGE_BYTES } });
}

/** Gateway.GetUsage as `identity` (rejects with the ServiceError). */
export async function getUsage(gateway: Peer, identity: Identity): Promise<UsageLine__Output[]> {
  const client = gatewayClient(gateway, identity);
  try {
    return await new Promise<UsageLine__Output[]>((resolve, reject) =>
      client.getUsage({}, (err, res) => (err ? reject(err) : resolve(res?.lines ?? []))),
    );
  } finally {
    client.close();
  }
}

/** Calls Gateway.Fetch as `identity` and collects everything (never throws). */
export async function fetchRaw(gateway: Peer, identity: Identity, verifyCap: string, offset = 0, length = 0): Promise<FetchOutcome> {
  const client = gatewayClient(gateway, identity);
  const out: FetchOutcome = { uebs: [], segments: [] };
  try {
    const call = client.Fetch({ verifyCap, offset, length });
    for await (const chunk of call as AsyncIterable<SegmentChunk__Output>) {
      if (chunk.part === 'ueb') out.uebs.push(new Uint8Array(chunk.ueb!));
      else if (chunk.segment) out.segments.push({ index: Number(chunk.segment.index), ciphertext: new Uint8Array(chunk.segment.ciphertext) });
    }
  } catch (err) {
    out.error = err as grpc.ServiceError;
  } finally {
    client.close();
  }
  return out;
}

/** The plaintext of bytes [offset, offset+length) from received segments (decrypted with the read key). */
export function plaintextOf(file: TestFile, outcome: FetchOutcome, offset: number, length: number): Uint8Array {
  const parts = outcome.segments.map((s) => decryptSegment(file.readCap.readKey, s.index, s.ciphertext));
  const all = Buffer.concat(parts);
  const first = outcome.segments[0]?.index ?? 0;
  const start = offset - first * file.layout.segmentSize;
  return new Uint8Array(all.subarray(start, start + length));
}

/**
 * A gateway config for these tests: home area HOME_AREA, the test principals'
 * gateway key and certificates, a grid manager nobody listens on (override
 * `gridManager` to poll a real one), and the given clearinghouse and fields.
 */
export function gatewayTestConfig(
  p: Principals,
  clearinghouse: { address: string; publicKey: Uint8Array },
  fields: Omit<Partial<Parameters<typeof resolveGatewayConfig>[0]>, 'clearinghouse'> & { priceCeilingUnitsPerGib: number },
): GatewayConfig {
  return resolveGatewayConfig({
    listen: '127.0.0.1:0',
    areaCode: HOME_AREA,
    // A fresh database per gateway unless the test passes one (e.g. to restart on the same data).
    dataDir: mkdtempSync(join(p.dir, 'gateway-data-')),
    keyFile: p.gatewayKeyFile,
    certificateFiles: p.gatewayCertFiles,
    gridManager: { address: '127.0.0.1:1', publicKey: toHex(p.gm.publicKey) },
    clearinghouse: { address: clearinghouse.address, publicKey: toHex(clearinghouse.publicKey) },
    ...fields,
  });
}
