/**
 * The repairer (Tahoe's `check --repair`): check the file; if it is not
 * healthy but recoverable, rebuild the share numbers that have no good copy
 * and place them on servers that hold no good share of this file
 * (servers-of-happiness), then check again and report both.
 *
 * Works from a verify-cap: shares are rebuilt from verified ciphertext
 * (libs/format ShareRebuilder), never from plaintext, so the read key is not
 * needed. A rebuilt share is byte-identical to the original (deterministic
 * erasure code and trees), and the rebuilder proves it against the UEB's
 * roots before any trailer is sent: a server acknowledges a rebuilt share
 * only after its last byte, so nothing wrong is ever stored as a share.
 *
 * When every share has a good copy but they sit on fewer than `happy`
 * servers, copies of shares from servers holding several are added on
 * servers holding none (each such copy raises the matching by one).
 */
import { ShareRebuilder, type FileLayout, type Ueb } from '../format/index.js';
import { toVerifyCap, type Cap, type VerifyCap } from '../caps/index.js';
import { IntegrityError, UnavailableError, isIntergridError } from '../errors/index.js';
import { checkFile, type CheckOptions, type CheckResult, type CheckSession } from './checker.js';
import { ciphertextSegments } from './downloader.js';
import { dealShares, permutedServers, releasePlacement } from './placement.js';
import { ShareUpload } from './share-upload.js';
import type { StoragePeer } from './storage-peer.js';

/** A share written by the repair. */
export interface RepairedShare {
  shnum: number;
  server: string;
  address: string;
}

export interface RepairResult extends CheckResult {
  /** What the first check found (the rest of the result is the check after repair). */
  before: Pick<CheckResult, 'healthy' | 'recoverable' | 'goodShares' | 'happiness' | 'missingShares'>;
  /** Shares rebuilt and acknowledged by their new server. */
  repaired: RepairedShare[];
  /** Servers that refused or failed a rebuilt share, and why. */
  repairFailures: { server: string; reason: string }[];
  /** Why nothing (more) could be repaired, when that is the case. */
  repairProblem?: string;
}

export interface RepairOptions extends CheckOptions {
  /** Whether the first check calls for a repair (default: the file is not healthy). */
  needsRepair?(check: CheckResult): boolean;
}

/** What to rebuild and where to try first. */
interface RepairPlan {
  /** Share numbers to write (missing ones first, then copies that raise happiness). */
  shnums: number[];
  /** Servers in the order to deal over: those holding no good share first (permuted ring), then the least loaded. */
  ring: StoragePeer[];
  /** Per server: shares whose copy there is bad (allocated with `replace`). */
  bad: Map<StoragePeer, number[]>;
}

/**
 * Checks the file named by `cap` and repairs it when it is not healthy (or when `needsRepair` says so).
 * Never throws for a damaged file: an unrecoverable one is reported (repairProblem).
 * @throws for a cap of another grid (PreconditionError) or a grid that cannot be reached.
 */
export async function repairFile(conn: CheckSession, cap: Cap, opts: RepairOptions = {}): Promise<RepairResult> {
  const vcap: VerifyCap = cap.kind === 'verify' ? cap : toVerifyCap(cap);
  const first = await checkFile(conn, vcap, opts);
  const before = { healthy: first.healthy, recoverable: first.recoverable, goodShares: first.goodShares, happiness: first.happiness, missingShares: first.missingShares };
  if (!(opts.needsRepair ?? ((c: CheckResult) => !c.healthy))(first)) return { ...first, before, repaired: [], repairFailures: [] };
  if (!first.recoverable) {
    return { ...first, before, repaired: [], repairFailures: [], repairProblem: `not recoverable: ${first.goodShares} good shares, ${first.k} needed` };
  }
  const plan = planRepair(conn, vcap, first);
  if (plan.shnums.length === 0) {
    return { ...first, before, repaired: [], repairFailures: [], repairProblem: 'no server can take a share this file needs (every reachable server already holds one)' };
  }
  const outcome = await rebuildShares(conn, vcap, plan);
  // With addLease the new holders get their lease renewal reported too.
  const after = await checkFile(conn, vcap, opts);
  return { ...after, before, ...outcome };
}

/** Decides which share numbers to rebuild and the order of servers to offer them to. */
function planRepair(conn: CheckSession, vcap: VerifyCap, check: CheckResult): RepairPlan {
  const peers = new Map(conn.servers.map((s) => [`${s.name} ${s.address}`, s]));
  const good = new Map<StoragePeer, number[]>();
  const bad = new Map<StoragePeer, number[]>();
  const reachable: StoragePeer[] = [];
  for (const s of check.servers) {
    const peer = peers.get(`${s.server} ${s.address}`);
    if (!peer || !s.reachable) continue;
    reachable.push(peer);
    const ok = s.shares.filter((h) => h.healthy).map((h) => h.shnum);
    if (ok.length) good.set(peer, ok);
    const wrong = s.shares.filter((h) => !h.healthy).map((h) => h.shnum);
    if (wrong.length) bad.set(peer, wrong);
  }
  const ring = permutedServers(vcap.storageIndex, reachable);
  const loaded = ring.filter((s) => good.has(s)).sort((a, b) => good.get(a)!.length - good.get(b)!.length);
  // A server holding a bad copy of a missing share takes that share back first (replacing the bad copy);
  // dealing is round-robin, so pairing share i with server i of the ring puts it there.
  const missing = [...check.missingShares];
  const paired: { server: StoragePeer; shnum: number }[] = [];
  for (const server of ring.filter((s) => !good.has(s))) {
    const own = (bad.get(server) ?? []).find((x) => missing.includes(x) && !paired.some((p) => p.shnum === x));
    if (own !== undefined) paired.push({ server, shnum: own });
  }
  const empty = [...paired.map((p) => p.server), ...ring.filter((s) => !good.has(s) && !paired.some((p) => p.server === s))];
  const shnums = [...paired.map((p) => p.shnum), ...missing.filter((x) => !paired.some((p) => p.shnum === x))];
  // Still short of happy once each empty server took one missing share: copy shares off servers holding several.
  let shortBy = check.happy - (check.happiness + Math.min(shnums.length, empty.length));
  const spare = empty.length - shnums.length;
  const donors = [...loaded].reverse().map((s) => [...good.get(s)!]);
  for (let added = 0; shortBy > 0 && added < spare; added++) {
    const donor = donors.find((d) => d.length > 1 && d.some((x) => !shnums.includes(x)));
    if (!donor) break;
    const shnum = donor.find((x) => !shnums.includes(x))!;
    donor.splice(donor.indexOf(shnum), 1);
    shnums.push(shnum);
    donors.sort((a, b) => b.length - a.length);
    shortBy--;
  }
  return { shnums, ring: [...empty, ...loaded], bad };
}

/** Streams the rebuilt shares to their new servers. */
async function rebuildShares(conn: CheckSession, vcap: VerifyCap, plan: RepairPlan): Promise<Pick<RepairResult, 'repaired' | 'repairFailures' | 'repairProblem'>> {
  let info: { layout: FileLayout; ueb: Ueb; uebBytes: Uint8Array } | undefined;
  const segments = ciphertextSegments(conn, vcap, undefined, { onOpen: (i) => void (info = i) });
  let next: IteratorResult<{ ciphertext: Uint8Array }>;
  try {
    next = await segments.next(); // opens the file: the UEB is verified before the first segment
  } catch (err) {
    return { repaired: [], repairFailures: [], repairProblem: `file could not be read for repair: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!info) throw new IntegrityError('the file opened without its UEB');
  const rebuilder = new ShareRebuilder(info.layout, info.ueb, info.uebBytes);
  const { placement } = await dealShares(plan.ring, vcap.storageIndex, info.layout.shareSize, plan.shnums, (s) => plan.bad.get(s) ?? []);
  const failures = () => placement.failures.map((f) => ({ server: f.server, reason: f.reason }));
  // A share a server now reports held was written there since the check: not ours to count.
  for (const s of placement.alreadyHave) placement.shares.delete(s);
  if (placement.shares.size === 0) {
    await segments.return();
    return { repaired: [], repairFailures: failures(), repairProblem: 'no server accepted a rebuilt share' };
  }
  const upload = new ShareUpload(placement, (live) => {
    if (live.size === 0) throw new UnavailableError(`every server taking a rebuilt share failed: ${failures().map((f) => `${f.server}: ${f.reason}`).join('; ')}`);
  });
  try {
    await upload.send((s) => rebuilder.shareHeader(s));
    for (; !next.done; next = await segments.next()) {
      const blocks = rebuilder.encodeCiphertext(next.value.ciphertext);
      await upload.send((s) => blocks[s]!);
    }
    // A 0-byte file is one empty segment, which the download yields no bytes of.
    while (rebuilder.segmentsEncoded < info.layout.numSegments) {
      const blocks = rebuilder.encodeCiphertext(new Uint8Array(0));
      await upload.send((s) => blocks[s]!);
    }
    const finished = rebuilder.finish();
    await upload.send((s) => finished.trailer(s));
    await upload.finish();
  } catch (err) {
    upload.abort();
    await releasePlacement(placement);
    await segments.return();
    // Our own errors (too few shares left, a store failing, a rebuild that does not verify) are the answer; anything else is a bug.
    if (!isIntergridError(err)) throw err;
    return { repaired: [], repairFailures: failures(), repairProblem: `repair stopped: ${err.message}` };
  }
  const repaired = [...upload.live]
    .map(([shnum, s]) => ({ shnum, server: s.name, address: s.address }))
    .sort((a, b) => a.shnum - b.shnum);
  return { repaired, repairFailures: failures() };
}
