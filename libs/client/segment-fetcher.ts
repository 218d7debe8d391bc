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
  type ByteRange,
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

/** A verified segment and the ciphertext-tree sibling path it verified with. */
export interface SegmentWithProof {
  ciphertext: Uint8Array;
  proof: Uint8Array[];
}

/** A segment being fetched: its blocks as they are verified, and where the primaries go. */
interface PendingSegment {
  i: number;
  /** Block length. */
  b: number;
  /** k·b bytes: primary share s's block is read into [s·b, (s+1)·b). */
  buffer: Uint8Array;
  /** Verified blocks by share number. */
  blocks: (Uint8Array | null)[];
  /** Regions being read into (one read at a time each; never once a verified block lies there). */
  busy: Set<number>;
  proofRanges: ByteRange[];
  proof: Uint8Array[];
  proofFrom?: ShareSource;
}

/**
 * The ranges of one ReadShare: a range asked for twice (a hash-tree node
 * two segments share) is read once; `add` returns where its bytes will be.
 */
class ReadPlan {
  readonly ranges: ByteRange[] = [];
  readonly into: (Uint8Array | undefined)[] = [];
  private readonly seen = new Map<string, number>();

  add(r: ByteRange, into?: Uint8Array): number {
    const key = `${r.offset}:${r.length}`;
    const at = into ? undefined : this.seen.get(key);
    if (at !== undefined) return at;
    this.ranges.push(r);
    this.into.push(into);
    if (!into) this.seen.set(key, this.ranges.length - 1);
    return this.ranges.length - 1;
  }
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
  async segmentWithProof(i: number): Promise<SegmentWithProof> {
    return (await this.segmentsWithProof(i, 1))[0]!;
  }

  /**
   * Segments `first` … `first + count - 1`, verified, each with its proof:
   * every slot reads its blocks of all `count` segments in ONE ReadShare
   * (the hash-tree nodes the segments share are asked for once), which
   * divides the per-call costs on both sides by `count`. A slot whose copy
   * fails keeps the blocks it verified and reads the rest from its
   * replacement.
   * @throws NotEnoughSharesError when fewer than k good shares remain.
   */
  async segmentsWithProof(first: number, count: number, attempt = 0): Promise<SegmentWithProof[]> {
    const { k, n } = this.layout;
    const segs: PendingSegment[] = Array.from({ length: count }, (_, x) => {
      const i = first + x;
      const b = blockLength(this.layout, i);
      // Primary share s's block is bytes [s·b, (s+1)·b) of the segment (systematic code): each is
      // read straight into its place, so with all k primaries the segment needs no decoding and no copy.
      return { i, b, buffer: new Uint8Array(k * b), blocks: new Array<Uint8Array | null>(n).fill(null), busy: new Set<number>(), proof: [], proofRanges: ciphertextProofRanges(this.layout, i) };
    });
    await Promise.all(Array.from({ length: k }, (_, j) => this.fillSlot(j, segs)));
    return Promise.all(
      segs.map(async (seg) => {
        // A slot that switched copies can land on a share number another slot already
        // fetched for a segment: that segment is fetched again on its own.
        if (seg.blocks.filter((x) => x !== null).length < k && attempt < 3) return (await this.segmentsWithProof(seg.i, 1, attempt + 1))[0]!;
        return this.finish(seg);
      }),
    );
  }

  /** Slot j's block of every segment in `segs` (and, for slot 0, each one's ciphertext proof), in as few reads as failures allow. */
  private async fillSlot(j: number, segs: PendingSegment[]): Promise<void> {
    const { k } = this.layout;
    const done = segs.map(() => false);
    for (;;) {
      const src = await this.slots[j]!;
      const s = src.loc.shnum;
      // A block of this share number that another slot already holds cannot count twice.
      segs.forEach((seg, x) => {
        if (!done[x] && seg.blocks[s] !== null) done[x] = true;
      });
      const todo = segs.filter((_, x) => !done[x]);
      if (todo.length === 0) return;
      const withProof = j === 0;
      const plan = new ReadPlan();
      const wanted = todo.map((seg) => {
        const inPlace = s < k && !seg.busy.has(s);
        if (inPlace) seg.busy.add(s);
        const ranges = src.verifier.segmentRanges(seg.i);
        return {
          seg,
          inPlace,
          // The block (into its place when it may go there), then its tree nodes, then the ciphertext proof.
          parts: ranges.map((r, idx) => plan.add(r, idx === 0 && inPlace ? seg.buffer.subarray(s * seg.b, (s + 1) * seg.b) : undefined)),
          proof: withProof ? seg.proofRanges.map((r) => plan.add(r)) : [],
        };
      });
      try {
        const got = await src.loc.server.readRanges(this.storageIndex, s, plan.ranges, plan.into);
        for (const w of wanted) {
          w.seg.blocks[s] = src.verifier.verifyBlock(w.seg.i, w.parts.map((p) => got[p]!));
          if (withProof) {
            w.seg.proof = w.proof.map((p) => got[p]!);
            w.seg.proofFrom = src;
          }
          done[segs.indexOf(w.seg)] = true;
        }
        return;
      } catch (err) {
        this.fail(j, src, err);
      } finally {
        for (const w of wanted) if (w.inPlace) w.seg.busy.delete(s);
      }
    }
  }

  /** Decodes a segment whose k blocks are verified and checks it against the ciphertext tree (a proof from another slot if need be). */
  private async finish(seg: PendingSegment): Promise<SegmentWithProof> {
    const { k } = this.layout;
    const { i, b, blocks } = seg;
    const allPrimariesInPlace = blocks.slice(0, k).every((x, s) => x !== null && x.buffer === seg.buffer.buffer && x.byteOffset === s * b);
    const ciphertext = allPrimariesInPlace ? seg.buffer.subarray(0, segmentLength(this.layout, i)) : decodeSegment(this.layout, i, blocks);
    try {
      verifyCiphertextSegment(this.ueb, this.layout, i, ciphertext, seg.proof);
      return { ciphertext, proof: seg.proof };
    } catch (err) {
      // The blocks were verified, so the proof nodes are what is wrong:
      // blame that share copy and take the path from another one.
      if (seg.proofFrom) this.fail(0, seg.proofFrom, err);
    }
    for (let j = 1; j < k; j++) {
      const src = await this.slots[j]!;
      try {
        const other = await src.loc.server.readRanges(this.storageIndex, src.loc.shnum, seg.proofRanges);
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
