/**
 * Long-distance get for the bench: a cap put in grid a is fetched with grid
 * b's client config (client b → gateway b → a contact point of grid a →
 * storage servers of grid a), and the memory of every hop is read from the
 * outside while it runs.
 *
 * The services are long-lived processes, so their lifetime peak says nothing
 * about one transfer. Before each transfer the bench resets each hop's VmHWM
 * (writing 5 to /proc/<pid>/clear_refs, Linux ≥ 4.0, allowed on our own
 * children) so that the VmHWM read afterwards is the peak during that
 * transfer alone. Where the reset is refused, the lifetime peak is reported
 * and marked so.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { runCli, sha256File } from './cli-run.js';
import { measureCpu, type CpuFigure, type ServiceProcess } from './process-cpu.js';

const MiB = 1024 * 1024;

/** The parts of federation.json the bench reads. */
export interface FederationView {
  grids: { name: string; areaCode: string; clientConfig: string }[];
  services: ServiceProcess[];
}

/** One service process whose memory is followed. */
export interface Hop {
  role: string;
  name: string;
  pid: number;
}

/** Memory of one hop around one transfer, MiB. */
export interface HopMemory {
  role: string;
  name: string;
  rssBeforeMiB: number;
  /** Peak resident set during the transfer (VmHWM after a reset), or the lifetime peak if `peakIsLifetime`. */
  peakMiB: number;
  rssAfterMiB: number;
  peakIsLifetime: boolean;
}

/** One long-distance get, next to the local get of the same file. */
export interface LongDistanceFigure {
  sizeMiB: number;
  localGetMBps: number;
  getMBps: number;
  /** Long-distance throughput over local throughput (1 = as fast as local). */
  overLocal: number;
  /** Peak RSS of the client process (grid b's `intergrid get`), MiB. */
  clientPeakRssMiB: number;
  hops: HopMemory[];
  /** CPU per GiB of the client and of every service that worked for this get. */
  cpu: CpuFigure;
}

/** How each hop's peak grows from one size to the next (flat = does not grow with the file). */
export interface HopGrowth {
  name: string;
  fromMiB: number;
  toMiB: number;
  /** Peak at the larger size minus peak at the smaller, MiB. */
  peakGrowthMiB: number;
  peakRatio: number;
}

/** The gateway of the fetching grid, the contact points and storage servers of the serving grid, from federation.json. */
export function hopsOf(fed: FederationView, servingGrid: string, fetchingGrid: string): Hop[] {
  const pick = (role: string, grid: string): Hop[] =>
    fed.services.filter((s) => s.role === role && s.grid === grid).map((s) => ({ role: s.role, name: s.name, pid: s.pid }));
  const hops = [...pick('gateway', fetchingGrid), ...pick('contact-point', servingGrid), ...pick('storage-server', servingGrid)];
  if (!hops.some((h) => h.role === 'gateway') || !hops.some((h) => h.role === 'contact-point')) {
    throw new Error(`bench: federation.json lacks a gateway in grid ${fetchingGrid} or contact points in grid ${servingGrid}`);
  }
  return hops;
}

/** VmRSS and VmHWM of a process, MiB (from /proc/<pid>/status, which reports kB). */
export function readMemory(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`bench: /proc/${pid}/status has no ${name}`);
    return Number(m[1]) / 1024;
  };
  return { rssMiB: field('VmRSS'), hwmMiB: field('VmHWM') };
}

/** Resets the process's VmHWM to its current RSS; false where the kernel refuses. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Gets `cap` with `clientConfig` (another grid's), checks the bytes against
 * `wantSha256`, and reports throughput and every hop's memory during the get.
 */
export async function longDistanceGet(opts: {
  cap: string;
  clientConfig: string;
  output: string;
  sizeMiB: number;
  wantSha256: string;
  localGetMBps: number;
  hops: Hop[];
  /** Every service of the federation (CPU is measured for all of them). */
  services: readonly ServiceProcess[];
}): Promise<LongDistanceFigure> {
  const before = opts.hops.map((h) => ({ ...readMemory(h.pid), reset: resetPeak(h.pid) }));
  const { result: get, cpu } = await measureCpu(opts.services, opts.sizeMiB * MiB, () => runCli(['get', opts.cap, '--config', opts.clientConfig, '-o', opts.output]));
  const hops = opts.hops.map((h, i): HopMemory => {
    const after = readMemory(h.pid);
    const b = before[i]!;
    return { role: h.role, name: h.name, rssBeforeMiB: b.rssMiB, peakMiB: after.hwmMiB, rssAfterMiB: after.rssMiB, peakIsLifetime: !b.reset };
  });
  const got = await sha256File(opts.output);
  rmSync(opts.output);
  if (got !== opts.wantSha256) {
    throw new Error(`bench: long-distance ${opts.sizeMiB} MiB came back different (sha256 ${got} != ${opts.wantSha256})`);
  }
  const getMBps = (opts.sizeMiB * MiB) / 1e6 / get.seconds;
  return {
    sizeMiB: opts.sizeMiB,
    localGetMBps: opts.localGetMBps,
    getMBps,
    overLocal: getMBps / opts.localGetMBps,
    clientPeakRssMiB: get.maxRssBytes / MiB,
    hops: collapseStorage(hops),
    cpu,
  };
}

/** The storage servers of a grid as one row (the largest of each figure): ten near-identical rows say no more. */
function collapseStorage(hops: HopMemory[]): HopMemory[] {
  const storage = hops.filter((h) => h.role === 'storage-server');
  if (storage.length === 0) return hops;
  const grid = storage[0]!.name.split('/')[0] ?? '?';
  const max = (f: (h: HopMemory) => number): number => Math.max(...storage.map(f));
  return [
    ...hops.filter((h) => h.role !== 'storage-server'),
    {
      role: 'storage-server',
      name: `${grid}/storage (max of ${storage.length})`,
      rssBeforeMiB: max((h) => h.rssBeforeMiB),
      peakMiB: max((h) => h.peakMiB),
      rssAfterMiB: max((h) => h.rssAfterMiB),
      peakIsLifetime: storage.some((h) => h.peakIsLifetime),
    },
  ];
}

/** Peak growth of the client and of every hop between consecutive sizes. */
export function hopGrowth(figures: LongDistanceFigure[]): HopGrowth[] {
  const out: HopGrowth[] = [];
  for (let i = 1; i < figures.length; i++) {
    const a = figures[i - 1]!;
    const b = figures[i]!;
    const pairs: [string, number, number][] = [['client', a.clientPeakRssMiB, b.clientPeakRssMiB]];
    for (const hb of b.hops) {
      const ha = a.hops.find((h) => h.name === hb.name);
      if (ha) pairs.push([hb.name, ha.peakMiB, hb.peakMiB]);
    }
    for (const [name, pa, pb] of pairs) {
      out.push({ name, fromMiB: a.sizeMiB, toMiB: b.sizeMiB, peakGrowthMiB: pb - pa, peakRatio: pb / pa });
    }
  }
  return out;
}
