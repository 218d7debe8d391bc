/**
 * The speed targets of issue 13, computed from one bench run and printed as
 * one table: each row the measured figure, the target and whether it holds.
 * Ratios, so they compare figures taken in the same run on the same machine.
 */
import type { CpuFigure } from './process-cpu.js';
import type { ZfecFigure } from './zfec.js';
import type { LongDistanceFigure } from './long-distance.js';
import type { IngestFigure } from './ingest.js';

export interface Target {
  name: string;
  measured: number;
  /** 'max': measured must be ≤ target; 'min': ≥. */
  kind: 'max' | 'min';
  target: number;
  holds: boolean;
  /** What the figure is made of. */
  detail: string;
}

interface TransferLike {
  sizeMiB: number;
  putMBps: number;
  getMBps: number;
  putPeakRssMiB: number;
  putCpu: CpuFigure;
  getCpu: CpuFigure;
}

const GiB_MB = 2 ** 30 / 1e6;

/** CPU-s per GiB of a primitive bound given in MB/s. */
const secPerGiB = (mbps: number): number => GiB_MB / mbps;

export function targetsOf(run: {
  primitives: Record<string, number>;
  zfec?: ZfecFigure;
  transfers: TransferLike[];
  longDistance: LongDistanceFigure[];
  ingest?: IngestFigure;
}): Target[] {
  const out: Target[] = [];
  const add = (name: string, measured: number, kind: 'max' | 'min', target: number, detail: string) => {
    if (Number.isFinite(measured)) out.push({ name, measured, kind, target, holds: kind === 'max' ? measured <= target : measured >= target, detail });
  };
  const largest = run.transfers[run.transfers.length - 1];
  const putBound = run.primitives['primitive bound (encrypt+hash+encode)'];
  const getBound = run.primitives['primitive bound download (decrypt+hash)'];
  if (largest && getBound) {
    add(`client get CPU per byte / primitive bound (${largest.sizeMiB} MiB)`, largest.getCpu.clientSecPerGiB / secPerGiB(getBound), 'max', 3,
      `${largest.getCpu.clientSecPerGiB.toFixed(2)} CPU-s/GiB vs ${secPerGiB(getBound).toFixed(2)} at ${getBound.toFixed(0)} MB/s`);
  }
  if (largest && putBound) {
    add(`client put CPU per byte / primitive bound (${largest.sizeMiB} MiB)`, largest.putCpu.clientSecPerGiB / secPerGiB(putBound), 'max', 2,
      `${largest.putCpu.clientSecPerGiB.toFixed(2)} CPU-s/GiB vs ${secPerGiB(putBound).toFixed(2)} at ${putBound.toFixed(0)} MB/s`);
  }
  for (const size of [64, 512]) {
    const t = run.transfers.find((x) => x.sizeMiB === size);
    if (!t || !run.zfec) continue;
    add(`put / zfec encode (${size} MiB)`, t.putMBps / run.zfec.encodeMBps, 'min', 0.3, `${t.putMBps.toFixed(1)} vs ${run.zfec.encodeMBps.toFixed(0)} MB/s`);
    add(`get / zfec decode (${size} MiB)`, t.getMBps / run.zfec.decodeMBps, 'min', 0.15, `${t.getMBps.toFixed(1)} vs ${run.zfec.decodeMBps.toFixed(0)} MB/s`);
  }
  const ld = run.longDistance.find((f) => f.sizeMiB === 64) ?? run.longDistance[run.longDistance.length - 1];
  if (ld) add(`long-distance get / local get (${ld.sizeMiB} MiB)`, ld.overLocal, 'min', 0.7, `${ld.getMBps.toFixed(1)} vs ${ld.localGetMBps.toFixed(1)} MB/s`);
  const small = run.transfers.find((x) => x.sizeMiB === 16);
  const big = run.transfers.find((x) => x.sizeMiB === 512);
  if (small && big) add('put peak RSS 512 MiB / 16 MiB', big.putPeakRssMiB / small.putPeakRssMiB, 'max', 1.3, `${big.putPeakRssMiB.toFixed(0)} vs ${small.putPeakRssMiB.toFixed(0)} MiB`);
  if (run.ingest) add('clearinghouse ingest, records/s', run.ingest.recordsPerSecond, 'min', 10_000, `${run.ingest.workers} verification workers, SQLite`);
  return out;
}

export function printTargets(targets: Target[]): void {
  if (targets.length === 0) return;
  console.log('targets (issue 13):');
  for (const t of targets) {
    const fig = t.measured >= 100 ? t.measured.toFixed(0) : t.measured.toFixed(2);
    console.log(`  ${t.holds ? 'holds' : 'MISSES'}  ${t.name.padEnd(52)} ${fig.padStart(8)} (target ${t.kind === 'max' ? '≤' : '≥'} ${t.target})   ${t.detail}`);
  }
}
