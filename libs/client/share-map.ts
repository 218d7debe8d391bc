/**
 * Finding a file's shares: ask every server in parallel (ListShares), keep
 * the answers in the order they arrived (the fastest servers first), then
 * read the URI extension block from the first share that yields one
 * matching the cap. Shared by the downloader and the checker.
 */
import { SHARE_HEADER_BYTES, parseShareHeader, uebRange, openUeb, layoutFromUeb, type Ueb, type FileLayout } from '../format/index.js';
import { IntegrityError, NotEnoughSharesError, NotFoundError } from '../errors/index.js';
import type { Cap } from '../caps/index.js';
import type { StoragePeer } from './storage-peer.js';

/** One copy of one share on one server. */
export interface ShareLocation {
  server: StoragePeer;
  shnum: number;
  size: number;
}

export interface ShareMap {
  /** Every share copy found, in the order servers answered. */
  locations: ShareLocation[];
  /** Servers that answered ListShares, in answer order (including those holding nothing). */
  answered: StoragePeer[];
  /** Servers that did not answer, with the reason. */
  unreachable: { server: StoragePeer; reason: string }[];
}

/** Deadline for ListShares: a slow server must not stall the whole download. */
const LIST_DEADLINE_MS = 10_000;

export interface FindSharesOptions {
  /**
   * Resolve early, `graceMs` after `k` distinct share numbers are known,
   * instead of waiting for every server (a server that never answers then
   * costs `graceMs`, not the ListShares deadline). Late answers still arrive
   * through `onLate`.
   */
  early?: { k: number; graceMs?: number };
  /** Share copies reported after findShares resolved. */
  onLate?(loc: ShareLocation): void;
}

/** Default wait, once k shares are known, for more servers to answer. */
const EARLY_GRACE_MS = 250;

/** ListShares on every server in parallel. Never throws: failures are recorded. */
export function findShares(servers: readonly StoragePeer[], storageIndex: Uint8Array, opts: FindSharesOptions = {}): Promise<ShareMap> {
  const map: ShareMap = { locations: [], answered: [], unreachable: [] };
  return new Promise((resolve) => {
    let pending = servers.length;
    let resolved = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (resolved) return;
      resolved = true;
      if (timer) clearTimeout(timer);
      resolve(map);
    };
    const check = () => {
      if (pending === 0) return finish();
      const early = opts.early;
      if (!early || timer || resolved) return;
      if (new Set(map.locations.map((l) => l.shnum)).size >= early.k) {
        timer = setTimeout(finish, early.graceMs ?? EARLY_GRACE_MS);
        timer.unref();
      }
    };
    if (pending === 0) return finish();
    for (const server of servers) {
      server.listShares(storageIndex, LIST_DEADLINE_MS).then(
        (shares) => {
          map.answered.push(server);
          for (const [shnum, size] of [...shares].sort((a, b) => a[0] - b[0])) {
            const loc = { server, shnum, size };
            map.locations.push(loc);
            if (resolved) opts.onLate?.(loc);
          }
          pending--;
          check();
        },
        (err: unknown) => {
          map.unreachable.push({ server, reason: err instanceof Error ? err.message : String(err) });
          pending--;
          check();
        },
      );
    }
  });
}

/**
 * The order share copies are tried in (stable): copies on the caller's
 * preferred servers first; then primary shares (0..k-1), whose blocks are
 * the data itself, so a segment read from the k primaries needs no
 * Reed–Solomon decoding (Tahoe prefers them too); then answer order.
 */
export function readOrder(locations: readonly ShareLocation[], k: number, prefer?: readonly string[]): ShareLocation[] {
  const serverRank = (l: ShareLocation) => {
    const r = prefer?.indexOf(l.server.name) ?? -1;
    return r < 0 ? (prefer?.length ?? 0) : r;
  };
  const rank = (l: ShareLocation) => serverRank(l) * 2 + (l.shnum < k ? 0 : 1);
  return locations.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i).map((x) => x.l);
}

/** The verified UEB and the layout it implies, plus the share copies that failed to give it. */
export interface FileInfo {
  ueb: Ueb;
  /** The UEB as stored (its hash is the cap's UEB hash): what a contact point forwards. */
  uebBytes: Uint8Array;
  layout: FileLayout;
  /** Copies whose header or UEB was bad (wrong hash, unparsable): corrupt. */
  bad: { location: ShareLocation; reason: string; corrupt: boolean; error: unknown }[];
}

/**
 * Reads header + UEB from the shares in order until one UEB matches the cap
 * (openUeb checks its hash against cap.uebHash and k/n/size against the cap).
 * @throws NotFoundError when no server holds a share; NotEnoughSharesError when none yields a valid UEB.
 */
export async function readFileInfo(map: ShareMap, storageIndex: Uint8Array, cap: Cap): Promise<FileInfo> {
  const bad: FileInfo['bad'] = [];
  if (map.locations.length === 0) {
    throw new NotFoundError(
      `no shares found for this file on ${map.answered.length} responding servers` +
        (map.unreachable.length ? ` (${map.unreachable.length} unreachable: ${map.unreachable.map((u) => u.server.name).join(', ')})` : ''),
    );
  }
  const deadServers = new Set<StoragePeer>();
  for (const loc of map.locations) {
    if (deadServers.has(loc.server)) continue;
    try {
      const [headerBytes] = await loc.server.readRanges(storageIndex, loc.shnum, [{ offset: 0, length: Math.min(SHARE_HEADER_BYTES, loc.size) }]);
      const header = parseShareHeader(headerBytes!);
      const [uebBytes] = await loc.server.readRanges(storageIndex, loc.shnum, [uebRange(header)]);
      const ueb = openUeb(uebBytes!, cap);
      return { ueb, uebBytes: uebBytes!, layout: layoutFromUeb(ueb), bad };
    } catch (err) {
      const corrupt = isCorruption(err);
      if (isServerDown(err)) deadServers.add(loc.server);
      bad.push({ location: loc, reason: err instanceof Error ? err.message : String(err), corrupt, error: err });
    }
  }
  const shown = bad.slice(0, 3).map((b) => `${b.location.server.name} share ${b.location.shnum}: ${b.reason}`);
  const detail = shown.join('; ') + (bad.length > shown.length ? `; and ${bad.length - shown.length} more` : '');
  if (bad.length > 0 && bad.every((b) => codeOf(b.error) === 'INTEGRITY')) {
    // Every copy disagrees with the cap: far likelier a wrong cap than every copy corrupt.
    throw new IntegrityError(`none of the ${bad.length} share copies found matches this cap's UEB hash (a mistyped or altered cap, or every copy is corrupt): ${detail}`);
  }
  throw new NotEnoughSharesError(`found ${map.locations.length} share copies but none has a valid URI extension block: ${detail}`);
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/**
 * True for errors that mean "these bytes are wrong" (worth an AdviseCorrupt)
 * rather than "this server is unreachable". INVALID_ARGUMENT counts: a
 * corrupt header can point a read past the end of the share.
 */
export function isCorruption(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'INTEGRITY' || code === 'LAYOUT_INVALID' || code === 'INVALID_ARGUMENT';
}

/** True when the whole server, not just one share, should be skipped. */
export function isServerDown(err: unknown): boolean {
  const code = codeOf(err);
  // BUSY (our per-caller stream limit there) and DEADLINE (it cut a stream we read too slowly) say nothing about the share's bytes.
  return code === 'UNAVAILABLE' || code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED' || code === 'INTERNAL' || code === 'BUSY' || code === 'DEADLINE';
}
