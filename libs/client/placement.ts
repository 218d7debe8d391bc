/**
 * Share placement (DESIGN.md "Upload"): which server stores which share.
 *
 * Servers are ordered by Tahoe's permuted ring: for each file, sort them by
 * taggedHash('intergrid:permute:v1', storageIndex, serverPublicKey). Every
 * file thus sees a different, pseudo-random but reproducible server order,
 * which spreads load and lets a downloader guess where shares live.
 *
 * Shares 0..n−1 are then dealt round-robin over the ring. A server that
 * refuses an allocation (quota, full, unreachable) leaves the ring, and the
 * shares it did not take are dealt again over the servers that remain, until
 * every share is placed or no server is left.
 *
 * Servers-of-happiness is simplified: the number of DISTINCT servers holding
 * at least one share. Tahoe computes the size of a maximum matching in the
 * bipartite graph servers×shares, which differs only when servers hold
 * overlapping pre-existing shares; with fresh (random-key) uploads every
 * share has exactly one holder and the two measures agree.
 */
import { bytesEqual, taggedHash, toHex } from '../crypto/index.js';
import { SHARE_HEADER_BYTES } from '../format/index.js';
import { HappinessError, QuotaError, isIntergridError } from '../errors/index.js';
import type { StoragePeer } from './storage-peer.js';

export const PERMUTE_TAG = 'intergrid:permute:v1';

/** Servers in permuted-ring order for `storageIndex`. */
export function permutedServers<T extends { publicKey: Uint8Array }>(storageIndex: Uint8Array, servers: readonly T[]): T[] {
  const keyed = servers.map((s) => ({ s, key: toHex(taggedHash(PERMUTE_TAG, storageIndex, s.publicKey)) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((x) => x.s);
}

/** A server that refused or failed, and why. */
export interface ServerFailure {
  /** "name (address)" */
  server: string;
  name: string;
  reason: string;
  error: unknown;
}

/** Where each share went. */
export interface Placement {
  storageIndex: Uint8Array;
  shareSize: number;
  /** share number -> server that holds (or will hold) it */
  shares: Map<number, StoragePeer>;
  /** shares a server reported as already complete: nothing to write (after confirmHeldShares: only those that are this upload's own) */
  alreadyHave: Set<number>;
  /** held shares that turned out not to be this upload's (confirmHeldShares): written beside / over them, never counted as held */
  mismatched?: { shnum: number; server: string; reason: string }[];
  failures: ServerFailure[];
}

export interface PlacementParams {
  k: number;
  n: number;
  happy: number;
}

/** Distinct servers holding at least one share (the simplified happiness). */
export function happinessOf(shares: ReadonlyMap<number, StoragePeer>): number {
  return new Set(shares.values()).size;
}

/**
 * A short reason for one server's failure: without the "<server>: " prefix
 * the RPC layer adds, and with gRPC's connection noise reduced to its cause.
 */
export function briefReason(server: StoragePeer, err: unknown): string {
  let msg = err instanceof Error ? err.message : String(err);
  if (msg.startsWith(`${server.label}: `)) msg = msg.slice(server.label.length + 2);
  const refused = /No connection established.*?(connect E[A-Z]+|getaddrinfo E[A-Z]+)/.exec(msg);
  if (refused) return `unreachable (${refused[1]})`;
  msg = msg.replace(/\.? ?Resolution note:.*$/, '');
  return msg.length > 240 ? msg.slice(0, 237) + '...' : msg;
}

/**
 * Allocates shares on the servers of the ring. On success every share 0..n−1
 * has a server and the happiness is at least `happy`.
 * @throws HappinessError (or QuotaError when every refusal was a quota refusal)
 *   naming happy, achieved and the servers that failed; every allocation made
 *   is released with AbortShares before the error is thrown.
 */
export async function placeShares(servers: readonly StoragePeer[], storageIndex: Uint8Array, shareSize: number, params: PlacementParams): Promise<Placement> {
  const shnums = Array.from({ length: params.n }, (_, i) => i);
  const { placement, unplaced } = await dealShares(permutedServers(storageIndex, servers), storageIndex, shareSize, shnums);
  const achieved = happinessOf(placement.shares);
  if (achieved < params.happy || placement.shares.size < params.k || unplaced.length > 0) {
    await releasePlacement(placement);
    throw happinessError(params, achieved, placement.failures, servers.length, unplaced.length);
  }
  return placement;
}

/**
 * The dealing rule: `shnums` round-robin over `ring`; a server that refuses
 * (quota, full, unreachable) or takes fewer than asked leaves the ring, and
 * what it did not take is dealt again over the servers that remain, until
 * every share is placed or no server is left. `replace(server)`: shares
 * whose held copy on that server is known bad (AllocateBuckets `replace`).
 */
export async function dealShares(
  ring: readonly StoragePeer[],
  storageIndex: Uint8Array,
  shareSize: number,
  shnums: readonly number[],
  replace: (server: StoragePeer) => readonly number[] = () => [],
): Promise<{ placement: Placement; unplaced: number[] }> {
  const placement: Placement = { storageIndex, shareSize, shares: new Map(), alreadyHave: new Set(), failures: [] };
  let remaining = [...shnums];
  let left = [...ring];
  while (remaining.length > 0 && left.length > 0) {
    const batches = new Map<StoragePeer, number[]>();
    remaining.forEach((shnum, i) => {
      const server = left[i % left.length]!;
      batches.set(server, [...(batches.get(server) ?? []), shnum]);
    });
    const dropped = new Set<StoragePeer>();
    await Promise.all(
      [...batches].map(async ([server, asked]) => {
        try {
          const res = await server.allocateBuckets(storageIndex, asked, shareSize, replace(server).filter((s) => asked.includes(s)));
          for (const s of res.allocated) if (asked.includes(s)) placement.shares.set(s, server);
          for (const s of res.alreadyHave) {
            if (!asked.includes(s)) continue;
            placement.shares.set(s, server);
            placement.alreadyHave.add(s);
          }
          // A server that took fewer than asked is full: keep what it took, deal the rest elsewhere.
          if (res.allocated.length + res.alreadyHave.length < asked.length) {
            dropped.add(server);
            placement.failures.push({ server: server.label, name: server.name, reason: `accepted ${res.allocated.length + res.alreadyHave.length} of ${asked.length} shares`, error: undefined });
          }
        } catch (err) {
          dropped.add(server);
          placement.failures.push({ server: server.label, name: server.name, reason: briefReason(server, err), error: err });
        }
      }),
    );
    remaining = remaining.filter((s) => !placement.shares.has(s));
    left = left.filter((s) => !dropped.has(s));
  }
  return { placement, unplaced: remaining };
}

/** Builds the error for a failed upload: names happy, achieved and each failed server. */
export function happinessError(
  params: PlacementParams,
  achieved: number,
  failures: readonly ServerFailure[],
  known: number,
  unplaced = 0,
): HappinessError | QuotaError {
  // Servers failing the same way are named together: "quota exceeded: … (storage-05, storage-06)".
  const byReason = new Map<string, string[]>();
  for (const f of failures) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f.name]);
  const failed = failures.length ? [...byReason].map(([reason, names]) => `${reason} (${names.sort().join(', ')})`).join('; ') : 'none';
  const msg =
    `upload needs shares on ${params.happy} distinct servers (happy=${params.happy}, k=${params.k}, n=${params.n}) ` +
    `but placed them on ${achieved} of ${known} known servers` +
    (unplaced > 0 ? ` (${unplaced} shares found no server)` : '') +
    `; failed servers: ${failed}`;
  const allQuota = failures.length > 0 && failures.every((f) => isIntergridError(f.error, 'QUOTA'));
  return allQuota ? new QuotaError(`quota exceeded: ${msg}`) : new HappinessError(msg);
}

/**
 * Releases every allocation of a placement that was not already complete
 * (AbortShares, best effort: a server that cannot be reached lets its
 * reservation expire on its own).
 */
export async function releasePlacement(placement: Placement, only?: ReadonlySet<StoragePeer>): Promise<void> {
  const byServer = new Map<StoragePeer, number[]>();
  for (const [shnum, server] of placement.shares) {
    if (placement.alreadyHave.has(shnum)) continue;
    if (only && !only.has(server)) continue;
    const list = byServer.get(server) ?? [];
    list.push(shnum);
    byServer.set(server, list);
  }
  await Promise.all([...byServer].map(([server, shnums]) => server.abortShares(placement.storageIndex, shnums).catch(() => undefined)));
}

/** What this upload's share `shnum` must hold: its header and its trailer (trees + UEB), and where the trailer starts. */
export interface ExpectedShares {
  header(shnum: number): Uint8Array;
  trailer(shnum: number): Uint8Array;
  trailerOffset: number;
}

/**
 * A share a server reports in already_have is trusted only once it is this
 * upload's own: its header and its whole trailer (block tree, share tree,
 * ciphertext tree, UEB — so its UEB hash, the one the cap will carry) must
 * be byte-equal to what this upload encodes. Anyone who learns a storage
 * index can plant a share under it first; such a share is never counted
 * toward happiness. Each mismatching share is allocated again with
 * `replace` (the server then keeps ours beside or over the held one, see
 * docs/storage.md "Conflicting shares"); a server that refuses loses that
 * share from the placement.
 * @throws HappinessError when what is left no longer reaches `happy`
 *   (every allocation is released first).
 */
export async function confirmHeldShares(placement: Placement, expected: ExpectedShares, params: PlacementParams, known: number): Promise<void> {
  const byServer = new Map<StoragePeer, number[]>();
  for (const shnum of placement.alreadyHave) {
    const server = placement.shares.get(shnum)!;
    byServer.set(server, [...(byServer.get(server) ?? []), shnum]);
  }
  placement.mismatched ??= [];
  await Promise.all(
    [...byServer].map(async ([server, shnums]) => {
      const wrong: { shnum: number; reason: string }[] = [];
      for (const shnum of shnums) {
        const reason = await heldShareProblem(server, placement, shnum, expected);
        if (reason !== undefined) wrong.push({ shnum, reason });
      }
      if (wrong.length === 0) return;
      const numbers = wrong.map((w) => w.shnum);
      for (const w of wrong) {
        placement.alreadyHave.delete(w.shnum);
        placement.mismatched!.push({ shnum: w.shnum, server: server.label, reason: w.reason });
      }
      try {
        const res = await server.allocateBuckets(placement.storageIndex, numbers, placement.shareSize, numbers);
        for (const s of numbers) if (!res.allocated.includes(s)) placement.shares.delete(s);
      } catch (err) {
        for (const s of numbers) placement.shares.delete(s);
        placement.failures.push({ server: server.label, name: server.name, reason: briefReason(server, err), error: err });
      }
    }),
  );
  const achieved = happinessOf(placement.shares);
  if (achieved < params.happy || placement.shares.size < params.k) {
    await releasePlacement(placement);
    throw happinessError(params, achieved, placement.failures, known, params.n - placement.shares.size);
  }
}

/** Why the held share is not this upload's share `shnum`, or undefined when it is. */
async function heldShareProblem(server: StoragePeer, placement: Placement, shnum: number, expected: ExpectedShares): Promise<string | undefined> {
  const trailer = expected.trailer(shnum);
  let got: Uint8Array[];
  try {
    got = await server.readRanges(placement.storageIndex, shnum, [
      { offset: 0, length: SHARE_HEADER_BYTES },
      { offset: expected.trailerOffset, length: trailer.length },
    ]);
  } catch (err) {
    return `held share ${shnum} cannot be read back (${briefReason(server, err)})`;
  }
  if (!bytesEqual(got[0]!, expected.header(shnum))) return `held share ${shnum} has another header`;
  if (!bytesEqual(got[1]!, trailer)) return `held share ${shnum} has other hash trees or another UEB (not this file's share)`;
  return undefined;
}
