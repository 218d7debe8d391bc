/**
 * CPU time of the federation's service processes, read from the outside
 * (/proc/<pid>/stat utime + stime, Linux), so a figure says what one hop
 * costs per byte whatever else shares the cores. The CLI's own CPU comes
 * from inside it (cli-run.ts, process.resourceUsage at exit).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The parts of federation.json's service list this module reads. */
export interface ServiceProcess {
  role: string;
  name: string;
  grid: string;
  pid: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) `pid` has used so far; NaN when it cannot be read. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

/** CPU seconds of each process, by pid. */
export function cpuSnapshot(services: readonly ServiceProcess[]): Map<number, number> {
  return new Map(services.map((s) => [s.pid, processCpuSeconds(s.pid)]));
}

/** A hop's CPU over one operation: one process, or the sum over a role's processes in a grid (storage). */
export interface HopCpu {
  hop: string;
  seconds: number;
  processes: number;
}

/**
 * CPU used between two snapshots, per hop: each service by its name
 * (`a/gateway`, `a/contact-point-1`), a grid's storage servers summed
 * (`a/storage (all)`). Hops that used
 * no measurable CPU (under one clock tick) are left out.
 */
export function cpuBetween(services: readonly ServiceProcess[], before: Map<number, number>, after: Map<number, number>): HopCpu[] {
  const hops = new Map<string, HopCpu>();
  for (const s of services) {
    const used = (after.get(s.pid) ?? NaN) - (before.get(s.pid) ?? NaN);
    if (!(used > 0)) continue;
    const hop = s.role === 'storage-server' ? `${s.grid}/storage (all)` : s.name;
    const h = hops.get(hop) ?? { hop, seconds: 0, processes: 0 };
    h.seconds += used;
    h.processes++;
    hops.set(hop, h);
  }
  return [...hops.values()].sort((a, b) => b.seconds - a.seconds);
}

/** CPU per GiB of file moved: the CLI process and each hop. */
export interface CpuFigure {
  clientSecPerGiB: number;
  hops: { hop: string; secPerGiB: number; processes: number }[];
}

/** Runs `op` (a CLI run moving `bytes` of file) and reports its CPU per GiB, the CLI's and every service's. */
export async function measureCpu<R extends { cpuSeconds: number }>(services: readonly ServiceProcess[], bytes: number, op: () => Promise<R>): Promise<{ result: R; cpu: CpuFigure }> {
  const before = cpuSnapshot(services);
  const result = await op();
  const after = cpuSnapshot(services);
  const perGiB = 2 ** 30 / bytes;
  return {
    result,
    cpu: {
      clientSecPerGiB: result.cpuSeconds * perGiB,
      hops: cpuBetween(services, before, after).map((h) => ({ hop: h.hop, secPerGiB: h.seconds * perGiB, processes: h.processes })),
    },
  };
}
