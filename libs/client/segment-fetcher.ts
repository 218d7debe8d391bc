/**
 * Fetches verified ciphertext segments of one file from k shares
 * (DESIGN.md "Download (local)"). The k share "slots" each hold one share
 * copy on one server; distinct servers are preferred, the first servers to
 * answer ListShares first. Per segment, each slot's block (with its hash
 * tree nodes) is read with ONE ReadShare and verified up to the UEB; the
 * sibling path of the ciphertext tree rides along on one slot's read.
 *
 * A bad or missing block switches that slot to another share copy (a server
 * that is down is skipped entirely; a corrupt copy gets AdviseCorrupt and is
 * recorded in the report). Only verified blocks are decoded, and the decoded
 * segment is checked against the ciphertext tree: a wrong byte never leaves.
 */
import {
  SHARE_HEADER_BYTES,
  ShareVerifier,
  parseShareHeader,
  checkShareHeader,
  ciphertextProofRanges,
  decodeSegment,
  verifyCiphertextSegment,
  blockLength,
  segmentLength,
  type FileLayout,
  type Ueb,
} from '../format/index.js';
import { IntegrityError, NotEnoughSharesError } from '../errors/index.js';
import type { StoragePeer } from './storage-peer.js';
import { isCorruption, isServerDown, type ShareLocation } from './share-map.js';

/** What went wrong during a download, for the caller to show or act on. */
export interface DownloadReport {
  /** Share copies that failed verification (AdviseCorrupt was sent for each). */
  corrupt: { server: string; shnum: number; reason: string }[];
  /** Servers skipped because they did not answer. */
  unavailable: { server: string; reason: string }[];
}

export function emptyReport(): DownloadReport {
  return { corrupt: [], unavailable: [] };
}

/** One share copy in use, with its verifier set up (block-tree root trusted). */
interface ShareSource {
  loc: ShareLocation;
  verifier: ShareVerifier;
  bad: boolean;
}

export class SegmentFetcher {
  /** Unused share copies, best first. */
  private readonly queue: ShareLocation[];
  private readonly slots: Promise<ShareSource>[] = [];
  /** The copy each slot has reserved (set synchronously, before any await). */
  private readonly reserved: (ShareLocation | undefined)[] = [];
  private readonly deadServers = new Set<StoragePeer>();

  constructor(
    private readonly storageIndex: Uint8Array,
    readonly layout: FileLayout,
    readonly ueb: Ueb,
    locations: readonly ShareLocation[],
    readonly report: DownloadReport,
  ) {
    this.queue = [...locations];
    for (let j = 0; j < layout.k; j++) this.slots.push(this.openSlot(j));
  }

  /** Adds a copy found late (a slow server's ListShares answer) as a failover candidate. */
  addLocation(loc: ShareLocation): void {
    this.queue.push(loc);
  }

  /** The share copies currently in use. */
  async sharesInUse(): Promise<{ shnum: number; server: string }[]> {
    const srcs = await Promise.all(this.slots);
    return srcs.map((s) => ({ shnum: s.loc.shnum, server: s.loc.server.label }));
  }

  /** The verified ciphertext of segment `i`. @throws NotEnoughSharesError when fewer than k good shares remain. */
  async segment(i: number): Promise<Uint8Array> {
    return (await this.segmentWithProof(i)).ciphertext;
  }

  /**
   * The verified ciphertext of segment `i` with the ciphertext-tree sibling
   * path it was verified with (ciphertextProofRanges order), so a proxy can
   * forward both and its receiver verify again against the UEB.
   * @throws NotEnoughSharesError when fewer than k good shares remain.
   */
  async segmentWithProof(i: number, attempt = 0): Promise<{ ciphertext: Uint8Array; proof: Uint8Array[] }> {
    const { k, n } = this.layout;
    const blocks: (Uint8Array | null)[] = new Array<Uint8Array | null>(n).fill(null);
    const proofRanges = ciphertextProofRanges(this.layout, i);
    let proof: Uint8Array[] = [];
    let proofFrom: ShareSource | undefined;
    // Primary share s's block is bytes [s·b, (s+1)·b) of the segment (systematic code): each is
    // read straight into its place, so with all k primaries the segment needs no decoding and no copy.
    const b = blockLength(this.layout, i);
    const segment = new Uint8Array(k * b);
    const region = (s: number): Uint8Array => segment.subarray(s * b, (s + 1) * b);
    // A region is written by one read at a time, and never once a verified block lies there.
    const busy = new Set<number>();
    await Promise.all(
      Array.from({ length: k }, async (_, j) => {
        for (;;) {
          const src = await this.slots[j]!;
          const withProof = j === 0;
          const s = src.loc.shnum;
          const inPlace = s < k && blocks[s] === null && !busy.has(s);
          if (inPlace) busy.add(s);
          try {
            const ranges = src.verifier.segmentRanges(i);
            const parts = await src.loc.server.readRanges(this.storageIndex, s, withProof ? [...ranges, ...proofRanges] : ranges, inPlace ? [region(s)] : []);
            blocks[s] = src.verifier.verifyBlock(i, parts.slice(0, ranges.length));
            if (withProof) {
              proof = parts.slice(ranges.length);
              proofFrom = src;
            }
            return;
          } catch (err) {
            this.fail(j, src, err);
          } finally {
            if (inPlace) busy.delete(s);
          }
        }
      }),
    );
    // With prefetch, a slot that switched copies mid-segment can land on a
    // second copy of a share number already fetched for this segment: fetch again.
    if (blocks.filter((x) => x !== null).length < k && attempt < 3) return this.segmentWithProof(i, attempt + 1);
    const allPrimariesInPlace = blocks.slice(0, k).every((x, s) => x !== null && x.buffer === segment.buffer && x.byteOffset === s * b);
    const ciphertext = allPrimariesInPlace ? segment.subarray(0, segmentLength(this.layout, i)) : decodeSegment(this.layout, i, blocks);
    try {
      verifyCiphertextSegment(this.ueb, this.layout, i, ciphertext, proof);
      return { ciphertext, proof };
    } catch (err) {
      // The blocks were verified, so the proof nodes are what is wrong:
      // blame that share copy and take the path from another one.
      if (proofFrom) this.fail(0, proofFrom, err);
    }
    for (let j = 1; j < k; j++) {
      const src = await this.slots[j]!;
      try {
        const other = await src.loc.server.readRanges(this.storageIndex, src.loc.shnum, proofRanges);
        verifyCiphertextSegment(this.ueb, this.layout, i, ciphertext, other);
        return { ciphertext, proof: other };
      } catch (err) {
        if (!isCorruption(err)) continue;
      }
    }
    throw new IntegrityError(`segment ${i} decodes to ciphertext that does not match the ciphertext hash tree: the file was encoded inconsistently`);
  }

  /** Marks a slot's copy bad (once) and starts opening a replacement. */
  private fail(j: number, src: ShareSource, err: unknown): void {
    if (src.bad) return;
    src.bad = true;
    this.record(src.loc, err);
    if (this.slots[j] !== undefined && this.reserved[j] === src.loc) {
      this.slots[j] = this.openSlot(j);
    }
  }

  private record(loc: ShareLocation, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (isServerDown(err)) {
      if (!this.deadServers.has(loc.server)) this.report.unavailable.push({ server: loc.server.label, reason });
      this.deadServers.add(loc.server);
      return;
    }
    this.report.corrupt.push({ server: loc.server.label, shnum: loc.shnum, reason });
    if (isCorruption(err)) {
      // Best effort: the server may quarantine the copy; never block the download on it.
      void loc.server.adviseCorrupt(this.storageIndex, loc.shnum, reason).catch(() => undefined);
    }
  }

  /** Picks the next copy for slot j: a share number no other slot uses, preferably on a server no other slot uses. */
  private pick(j: number): ShareLocation | undefined {
    const others = this.reserved.filter((r, idx): r is ShareLocation => idx !== j && r !== undefined);
    const usedShares = new Set(others.map((o) => o.shnum));
    const usedServers = new Set(others.map((o) => o.server));
    const usable = (l: ShareLocation) => !this.deadServers.has(l.server) && !usedShares.has(l.shnum);
    let idx = this.queue.findIndex((l) => usable(l) && !usedServers.has(l.server));
    if (idx < 0) idx = this.queue.findIndex(usable);
    if (idx < 0) return undefined;
    return this.queue.splice(idx, 1)[0];
  }

  private openSlot(j: number): Promise<ShareSource> {
    const p = this.setUp(j);
    p.catch(() => undefined); // awaited by segment(); never an unhandled rejection
    return p;
  }

  private async setUp(j: number): Promise<ShareSource> {
    for (;;) {
      const loc = this.pick(j);
      this.reserved[j] = loc;
      if (!loc) {
        const good = this.reserved.filter((r) => r !== undefined).length;
        throw new NotEnoughSharesError(
          `need ${this.layout.k} good shares but only ${good} remain usable` +
            (this.report.corrupt.length ? `; corrupt: ${this.report.corrupt.map((c) => `${c.server} share ${c.shnum}`).join(', ')}` : '') +
            (this.report.unavailable.length ? `; unavailable: ${this.report.unavailable.map((u) => u.server).join(', ')}` : ''),
        );
      }
      try {
        const verifier = new ShareVerifier(this.layout, this.ueb, loc.shnum);
        const setup = verifier.setupRanges();
        const parts = await loc.server.readRanges(this.storageIndex, loc.shnum, [{ offset: 0, length: SHARE_HEADER_BYTES }, ...setup]);
        checkShareHeader(parseShareHeader(parts[0]!), this.layout, loc.shnum);
        verifier.acceptSetup(parts.slice(1));
        return { loc, verifier, bad: false };
      } catch (err) {
        this.record(loc, err);
      }
    }
  }
}
