/**
 * The checker: which server holds which share of a file, and whether each
 * copy is intact. Works from a verify-cap (a read-cap is attenuated first),
 * so it never needs the read key. Every byte of every copy is checked: the
 * header against the layout, every block against the block tree, share tree
 * and UEB hash in the cap, and the stored trees and UEB themselves; a copy
 * failing anywhere is unhealthy and reported to its server with AdviseCorrupt.
 *
 * Health (documented in docs/client.md):
 *   healthy     = all n shares have a verified copy AND those copies sit on
 *                 at least `happy` distinct servers
 *   recoverable = at least k distinct shares have a verified copy
 */
import {
  SHARE_HEADER_BYTES,
  UEB_BYTES,
  ShareVerifier,
  parseShareHeader,
  checkShareHeader,
  checkStoredTree,
  openUeb,
  trailerBytes,
  type FileLayout,
  type Ueb,
} from '../format/index.js';
import { formatCap, isLongDistance, toVerifyCap, type Cap, type VerifyCap } from '../caps/index.js';
import { toHex } from '../crypto/index.js';
import { IntegrityError, LayoutInvalidError, PreconditionError } from '../errors/index.js';
import type { StorageSession } from './grid-connection.js';
import type { StoragePeer } from './storage-peer.js';
import { findShares, readFileInfo, isCorruption, type ShareLocation } from './share-map.js';

export interface ShareHealth {
  shnum: number;
  size: number;
  healthy: boolean;
  /** Why the copy is unhealthy. */
  reason?: string;
}

export interface ServerCheck {
  server: string;
  address: string;
  reachable: boolean;
  error?: string;
  shares: ShareHealth[];
  /** With `addLease`: the account's lease expiry on this server (Unix ms), or why renewal failed. */
  leaseExpiresAtMs?: number;
  leaseError?: string;
}

/** What checking needs: a session on the home grid and the `happy` a healthy file must reach (a GridConnection has both). */
export type CheckSession = StorageSession & { readonly config: { readonly encoding: { readonly happy: number } } };

export interface CheckOptions {
  /**
   * Also add or renew the caller's lease on every server holding a share
   * (Tahoe's `check --add-lease`): shares live only as long as some lease.
   */
  addLease?: boolean;
}

export interface CheckResult {
  verifyCap: string;
  storageIndex: string;
  k: number;
  n: number;
  happy: number;
  size: number;
  healthy: boolean;
  recoverable: boolean;
  /** Distinct share numbers with at least one verified copy. */
  goodShares: number;
  /** Distinct servers holding at least one verified copy. */
  happiness: number;
  /** Share numbers with no verified copy anywhere. */
  missingShares: number[];
  servers: ServerCheck[];
}

/** Segments verified per ReadShare call: bounds both RPC count and memory. */
const SEGMENTS_PER_READ = 16;
/** Largest trailer (hash trees + UEB) the checker reads whole. */
const TRAILER_CHECK_LIMIT = 64 * 1024 * 1024;
/** Block bytes per ReadShare call, so huge segments cannot make a batch huge. */
const READ_BATCH_BYTES = 8 * 1024 * 1024;
/** Share copies checked at once. */
const PARALLEL_COPIES = 4;

/** Checks every share copy of the file named by `cap`. Never throws for a damaged file: damage is the answer. */
export async function checkFile(conn: CheckSession, cap: Cap, opts: CheckOptions = {}): Promise<CheckResult> {
  const vcap: VerifyCap = cap.kind === 'verify' ? cap : toVerifyCap(cap);
  if (isLongDistance(vcap, conn.areaCode)) {
    throw new PreconditionError(`this cap is for area code ${vcap.areaCode ?? '?'}, not the home grid ${conn.areaCode}: only home-grid files can be checked`);
  }
  const map = await findShares(conn.servers, vcap.storageIndex);
  const health = new Map<ShareLocation, ShareHealth>();
  for (const loc of map.locations) health.set(loc, { shnum: loc.shnum, size: loc.size, healthy: false });

  let info: { ueb: Ueb; layout: FileLayout } | undefined;
  let infoError: string | undefined;
  try {
    info = await readFileInfo(map, vcap.storageIndex, vcap);
  } catch (err) {
    infoError = err instanceof Error ? err.message : String(err);
  }

  if (info) {
    const queue = [...map.locations];
    const worker = async () => {
      for (let loc = queue.shift(); loc; loc = queue.shift()) {
        const h = health.get(loc)!;
        try {
          await verifyCopy(vcap.storageIndex, info!, loc, vcap);
          h.healthy = true;
        } catch (err) {
          h.reason = err instanceof Error ? err.message : String(err);
          if (isCorruption(err)) void loc.server.adviseCorrupt(vcap.storageIndex, loc.shnum, h.reason).catch(() => undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_COPIES }, worker));
  } else {
    for (const h of health.values()) h.reason = `file could not be opened: ${infoError}`;
  }

  const leases = new Map<StoragePeer, { leaseExpiresAtMs: number } | { leaseError: string }>();
  if (opts.addLease) {
    const holders = [...new Set(map.locations.map((l) => l.server))];
    await Promise.all(
      holders.map(async (s) => {
        try {
          leases.set(s, { leaseExpiresAtMs: await s.renewLease(vcap.storageIndex) });
        } catch (err) {
          leases.set(s, { leaseError: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
  }

  const servers: ServerCheck[] = conn.servers.map((s) => {
    const down = map.unreachable.find((u) => u.server === s);
    return {
      server: s.name,
      address: s.address,
      reachable: !down,
      ...(down ? { error: down.reason } : {}),
      shares: map.locations.filter((l) => l.server === s).map((l) => health.get(l)!),
      ...leases.get(s),
    };
  });
  const good = map.locations.filter((l) => health.get(l)!.healthy);
  const goodShares = new Set(good.map((l) => l.shnum));
  const happiness = new Set(good.map((l) => l.server)).size;
  const happy = conn.config.encoding.happy;
  return {
    verifyCap: formatCap(vcap),
    storageIndex: toHex(vcap.storageIndex),
    k: vcap.k,
    n: vcap.n,
    happy,
    size: vcap.size,
    healthy: goodShares.size === vcap.n && happiness >= Math.min(happy, vcap.n),
    recoverable: goodShares.size >= vcap.k,
    goodShares: goodShares.size,
    happiness,
    missingShares: Array.from({ length: vcap.n }, (_, i) => i).filter((i) => !goodShares.has(i)),
    servers,
  };
}

/** Verifies header, hash-tree setup and every block of one share copy. @throws on the first bad byte. */
async function verifyCopy(storageIndex: Uint8Array, info: { ueb: Ueb; layout: FileLayout }, loc: ShareLocation, cap: VerifyCap): Promise<void> {
  const { layout, ueb } = info;
  if (loc.size !== layout.shareSize) {
    throw new LayoutInvalidError(`share is ${loc.size} bytes, expected ${layout.shareSize}`);
  }
  const verifier = new ShareVerifier(layout, ueb, loc.shnum);
  const setup = verifier.setupRanges();
  const parts = await loc.server.readRanges(storageIndex, loc.shnum, [{ offset: 0, length: SHARE_HEADER_BYTES }, ...setup]);
  checkShareHeader(parseShareHeader(parts[0]!), layout, loc.shnum);
  verifier.acceptSetup(parts.slice(1));
  for (let first = 0; first < layout.numSegments; ) {
    // One ReadShare per batch: up to SEGMENTS_PER_READ segments or READ_BATCH_BYTES of blocks (at least one segment).
    const perSegment: { i: number; count: number }[] = [];
    const ranges = [];
    let bytes = 0;
    let i = first;
    while (i < layout.numSegments && perSegment.length < SEGMENTS_PER_READ && (perSegment.length === 0 || bytes < READ_BATCH_BYTES)) {
      const r = verifier.segmentRanges(i);
      perSegment.push({ i, count: r.length });
      ranges.push(...r);
      bytes += r[0]!.length;
      i++;
    }
    const got = await loc.server.readRanges(storageIndex, loc.shnum, ranges);
    let at = 0;
    for (const seg of perSegment) {
      verifier.verifyBlock(seg.i, got.slice(at, at + seg.count));
      at += seg.count;
    }
    first = i;
  }
  await verifyTrailer(storageIndex, info, loc, cap);
}

/**
 * The rest of the share, so that every byte is checked: the stored block
 * tree, share tree and ciphertext tree must each be internally consistent
 * and hash to their trusted roots, and the stored UEB must be the cap's.
 * (Skipped for trailers over TRAILER_CHECK_LIMIT: such files have ≥ 2^19
 * segments, and their block paths were already checked segment by segment.)
 */
async function verifyTrailer(storageIndex: Uint8Array, info: { ueb: Ueb; layout: FileLayout }, loc: ShareLocation, cap: VerifyCap): Promise<void> {
  const { layout, ueb } = info;
  if (trailerBytes(layout) > TRAILER_CHECK_LIMIT) return;
  const [blockTree, shareTree, ciphertextTree, uebBytes] = await loc.server.readRanges(storageIndex, loc.shnum, [
    { offset: layout.blockTreeOffset, length: layout.segmentTreeBytes },
    { offset: layout.shareTreeOffset, length: layout.shareTreeBytes },
    { offset: layout.ciphertextTreeOffset, length: layout.segmentTreeBytes },
    { offset: layout.uebOffset, length: UEB_BYTES },
  ]);
  const checks: [string, ReturnType<typeof checkStoredTree>][] = [
    // The block-tree root itself was authenticated by acceptSetup (same bytes); here the rest of the tree.
    ['block tree', checkStoredTree('block', layout.numSegments, blockTree!, blockTree!.subarray(0, 32))],
    ['share tree', checkStoredTree('share', layout.n, shareTree!, ueb.shareRoot)],
    ['ciphertext tree', checkStoredTree('ciphertext', layout.numSegments, ciphertextTree!, ueb.ciphertextRoot)],
  ];
  for (const [what, res] of checks) {
    if ('problem' in res) throw new IntegrityError(`share ${loc.shnum}: stored ${what}: ${res.problem}`);
  }
  openUeb(uebBytes!, cap);
}
