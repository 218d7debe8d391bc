/**
 * Adversarial requests on a real grid (grid manager + storage servers on
 * 127.0.0.1:0, real SQLite, every hop TLS): an attacker who captured a
 * client's signed calls to one storage server replays them at another, and a
 * certified caller floods one server with requests. Each is refused with a
 * clear status, and the honest parties' shares and calls are untouched.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedClient, securedClient, type Identity } from '../../libs/auth/index.js';
import { clientIdentity } from '../../libs/client/index.js';
import { randomBytes } from '../../libs/crypto/index.js';
import { storageProto } from '../../libs/rpc/index.js';
import type { StorageClient, WriteShareRequest } from '../../libs/rpc/proto-types.js';
import { startLocalGrid, type LocalGrid, type LocalServer } from './fixtures/local-grid.js';

/** The flooding test's per-caller bound on every storage server of the grid. */
const NONCE_BOUND = 40;

let grid: LocalGrid;
let victim: Identity;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 3, storageConfig: { maxNoncesPerCaller: NONCE_BOUND } });
  victim = clientIdentity((await grid.addClient({ name: 'victim', quotaBytes: 10_000_000 })).config);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await grid?.stop();
});

const Storage = storageProto().intergrid.storage.Storage;

/** A client of `server` signing as `identity`, then running `interceptors` (closest to the wire). */
function signed(server: LocalServer, identity: Identity, interceptors: grpc.Interceptor[] = []): StorageClient {
  const c = securedClient<StorageClient>(Storage, server, identity, { interceptors });
  clients.push(c);
  return c;
}

/** A client of `server` that signs nothing: the attacker's, sending captured metadata as it is. */
function raw(server: LocalServer): StorageClient {
  const c = pinnedClient<StorageClient>(Storage, server);
  clients.push(c);
  return c;
}

/** Records the signed metadata of every call it sees (placed after the signer: what went on the wire). */
function recorder(into: grpc.Metadata[]): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, go) {
        into.push(metadata.clone());
        go(metadata, listener);
      },
    });
}

type Outcome = { code: number; details: string };
const outcome = (err: grpc.ServiceError | null): Outcome => (err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });

function allocate(c: StorageClient, req: { storageIndex: Uint8Array; shareNumbers: number[]; shareSize: number }, md = new grpc.Metadata()): Promise<Outcome> {
  return new Promise((resolve) => c.AllocateBuckets(req, md, { deadline: Date.now() + 10_000 }, (err) => resolve(outcome(err))));
}

function writeShare(c: StorageClient, messages: WriteShareRequest[], md = new grpc.Metadata()): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = c.WriteShare(md, { deadline: Date.now() + 10_000 }, (err) => resolve(outcome(err)));
    for (const m of messages) call.write(m);
    call.end();
  });
}

function listShares(c: StorageClient, storageIndex: Uint8Array): Promise<number[]> {
  return new Promise((resolve, reject) =>
    c.ListShares({ storageIndex }, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve((res?.shares ?? []).map((s) => s.shareNumber ?? -1)))),
  );
}

describe('a signed call captured at one storage server, replayed at another', () => {
  it('AllocateBuckets and WriteShare replayed byte for byte at a second server are refused (UNAUTHENTICATED, signed for another server); nothing is stored there', async () => {
    const [s1, s2] = [grid.servers[0]!, grid.servers[1]!];
    const storageIndex = randomBytes(16);
    const size = 64;
    const allocateReq = { storageIndex, shareNumbers: [0], shareSize: size };
    const writeReq: WriteShareRequest[] = [{ header: { storageIndex, shareNumber: 0, shareSize: size } }, { data: Buffer.alloc(size, 7) }];

    // The victim's own calls to S1, captured as they leave (the attacker sees them as sent).
    const seen: grpc.Metadata[] = [];
    const toS1 = signed(s1, victim, [recorder(seen)]);
    expect((await allocate(toS1, allocateReq)).code).toBe(grpc.status.OK);
    expect((await writeShare(toS1, writeReq)).code).toBe(grpc.status.OK);
    expect(seen).toHaveLength(2);

    // Replayed at S2: the same request bytes with the same signed metadata. S2 has never seen the nonces.
    const attacker = raw(s2);
    const a = await allocate(attacker, allocateReq, seen[0]!);
    expect(a.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(a.details).toMatch(/was signed for server .*not this server/);
    const w = await writeShare(attacker, writeReq, seen[1]!);
    expect(w.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(w.details).toMatch(/was signed for server/);

    // S2 holds nothing of it; S1 holds the victim's share; the victim can still use S2 itself.
    const asVictim2 = signed(s2, victim);
    expect(await listShares(asVictim2, storageIndex)).toEqual([]);
    expect(await listShares(signed(s1, victim), storageIndex)).toEqual([0]);
    expect((await allocate(asVictim2, allocateReq)).code).toBe(grpc.status.OK);
  });

  it('the same capture replayed at the first server is refused as a replay', async () => {
    const s1 = grid.servers[2]!;
    const seen: grpc.Metadata[] = [];
    const req = { storageIndex: randomBytes(16), shareNumbers: [1], shareSize: 10 };
    expect((await allocate(signed(s1, victim, [recorder(seen)]), req)).code).toBe(grpc.status.OK);
    const again = await allocate(raw(s1), req, seen[0]!);
    expect(again.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(again.details).toMatch(/replayed nonce/);
  });
});

describe('a certified caller flooding one storage server', () => {
  it(`is refused past its own bound (RESOURCE_EXHAUSTED) while the victim's calls to the same server go through`, async () => {
    const server = grid.servers[0]!;
    const flooder = clientIdentity((await grid.addClient({ name: 'flooder', quotaBytes: 1_000_000 })).config);
    const flood = signed(server, flooder);
    const codeOf = (): Promise<number> => listShares(flood, randomBytes(16)).then(() => grpc.status.OK, (e: grpc.ServiceError) => e.code);
    const codes: number[] = [];
    for (let i = 0; i < NONCE_BOUND + 10; i++) codes.push(await codeOf());
    expect(codes.slice(0, NONCE_BOUND).every((c) => c === 0)).toBe(true);
    expect(codes.slice(NONCE_BOUND).every((c) => c === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    const refused = await listShares(flood, randomBytes(16)).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(refused?.details).toMatch(/too many requests/);
    // The victim is served by the same server throughout.
    const asVictim = signed(server, victim);
    for (let i = 0; i < 5; i++) expect(await listShares(asVictim, randomBytes(16))).toEqual([]);
  });
});
