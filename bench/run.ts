/**
 * `npm run bench`: primitive throughputs, then end-to-end put/get through a
 * real local federation of two grids (per grid a grid manager, 10 storage
 * servers, two contact points and a gateway, each its own process, loopback),
 * run through the built CLI exactly as a user runs it: local put/get in grid
 * a, then long-distance get of the same caps from grid b with the memory of
 * every hop. Prints the figures and writes them to bench/results.json.
 *
 * Options (environment, for quick runs): BENCH_SIZES_MIB="1,64,512",
 * BENCH_SEGMENT_SIZES_KIB="256,1024,4096" (the segment-size sweep at 64 MiB),
 * BENCH_LONG_DISTANCE_SIZES_MIB="8,64" (default 8, 64 and every size of
 * BENCH_SIZES_MIB above 64), BENCH_INGEST_TRANSFERS=20000 (clearinghouse
 * ingest, bench/ingest.ts, run last on its own; 0 skips it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPrimitives } from './primitives.js';
import { runCli, writeRandomFile, sha256File } from './cli-run.js';
import { startFederation } from '../services/cli/launcher/federation.js';
import { DEFAULT_SEGMENT_SIZE } from '../libs/format/index.js';
import { hopGrowth, hopsOf, longDistanceGet, type FederationView, type HopGrowth, type LongDistanceFigure } from './long-distance.js';
import { benchIngest, printIngest, type IngestFigure } from './ingest.js';
import { measureCpu, type CpuFigure, type ServiceProcess } from './process-cpu.js';
import { benchZfec, type ZfecFigure } from './zfec.js';
import { printTargets, targetsOf } from './targets.js';

const MiB = 1024 * 1024;

function listEnv(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  if (v === undefined) return fallback;
  // An empty list skips that part (quick runs).
  return v.trim() === '' ? [] : v.split(',').map((s) => Number(s.trim()));
}

interface TransferFigure {
  sizeMiB: number;
  segmentKiB: number;
  putMBps: number;
  getMBps: number;
  putPeakRssMiB: number;
  getPeakRssMiB: number;
  /** CPU per GiB of the CLI and of each service during the put and the get. */
  putCpu: CpuFigure;
  getCpu: CpuFigure;
}

const fmt = (x: number, d = 1): string => x.toFixed(d);

/** A file put in the home grid: its cap, its sha256 and the local figures. */
interface Transferred {
  figure: TransferFigure;
  cap: string;
  sha256: string;
}

async function transfer(dir: string, clientConfig: string, services: readonly ServiceProcess[], sizeMiB: number, segmentSize: number): Promise<Transferred> {
  const config = JSON.parse(readFileSync(clientConfig, 'utf8')) as { encoding?: Record<string, number> };
  config.encoding = { ...(config.encoding ?? {}), segmentSize };
  const cfgPath = join(dir, `client-seg${segmentSize}.json`);
  writeFileSync(cfgPath, JSON.stringify(config), { mode: 0o600 });
  const input = join(dir, `in-${sizeMiB}.bin`);
  const output = join(dir, `out-${sizeMiB}.bin`);
  const want = await writeRandomFile(input, sizeMiB * MiB);
  const { result: put, cpu: putCpu } = await measureCpu(services, sizeMiB * MiB, () => runCli(['put', input, '--config', cfgPath]));
  const cap = put.stdout.trim();
  const { result: get, cpu: getCpu } = await measureCpu(services, sizeMiB * MiB, () => runCli(['get', cap, '--config', cfgPath, '-o', output]));
  const got = await sha256File(output);
  if (got !== want) throw new Error(`bench: ${sizeMiB} MiB came back different (sha256 ${got} != ${want})`);
  rmSync(input);
  rmSync(output);
  const mb = (sizeMiB * MiB) / 1e6;
  const figure: TransferFigure = {
    sizeMiB,
    segmentKiB: segmentSize / 1024,
    putMBps: mb / put.seconds,
    getMBps: mb / get.seconds,
    putPeakRssMiB: put.maxRssBytes / MiB,
    getPeakRssMiB: get.maxRssBytes / MiB,
    putCpu,
    getCpu,
  };
  return { figure, cap, sha256: want };
}

function printLongDistance(f: LongDistanceFigure): void {
  console.log(
    `  ${`${f.sizeMiB} MiB`.padEnd(22)} local get ${fmt(f.localGetMBps).padStart(6)} MB/s   long-distance get ${fmt(f.getMBps).padStart(6)} MB/s   ` +
      `ratio ×${fmt(f.overLocal, 2)}   (client peak RSS ${fmt(f.clientPeakRssMiB, 0)} MiB)`,
  );
  printCpu('get', f.cpu);
}

/** One row per hop: RSS before → peak during → RSS after each long-distance get, MiB. */
function printHopMemory(figures: LongDistanceFigure[]): void {
  if (figures.length === 0) return;
  const lifetime = figures.some((f) => f.hops.some((h) => h.peakIsLifetime));
  console.log(`memory per hop during the long-distance get (MiB, RSS before → ${lifetime ? 'lifetime VmHWM' : 'peak during'} → RSS after):`);
  const sizesRow = figures.map((f) => `${f.sizeMiB} MiB`.padStart(20)).join('');
  console.log(`  ${'hop'.padEnd(26)}${sizesRow}`);
  console.log(`  ${'client (peak)'.padEnd(26)}${figures.map((f) => fmt(f.clientPeakRssMiB, 0).padStart(20)).join('')}`);
  for (const hop of figures[0]!.hops) {
    const cells = figures.map((f) => {
      const h = f.hops.find((x) => x.name === hop.name);
      return (h ? `${fmt(h.rssBeforeMiB, 0)} → ${fmt(h.peakMiB, 0)} → ${fmt(h.rssAfterMiB, 0)}` : '-').padStart(20);
    });
    console.log(`  ${hop.name.padEnd(26)}${cells.join('')}`);
  }
}

/** Per hop, how much its peak grew from each size to the next: flat means it does not grow with the file. */
function printGrowth(growth: HopGrowth[]): void {
  if (growth.length === 0) return;
  const steps = [...new Set(growth.map((g) => `${g.fromMiB}→${g.toMiB} MiB`))];
  console.log(`memory growth of each hop's peak between sizes (MiB):`);
  console.log(`  ${'hop'.padEnd(26)}${steps.map((s) => s.padStart(20)).join('')}`);
  for (const name of [...new Set(growth.map((g) => g.name))]) {
    const cells = steps.map((step) => {
      const g = growth.find((x) => x.name === name && `${x.fromMiB}→${x.toMiB} MiB` === step);
      return (g ? `${g.peakGrowthMiB >= 0 ? '+' : ''}${fmt(g.peakGrowthMiB, 0)} (×${fmt(g.peakRatio, 2)})` : '-').padStart(20);
    });
    console.log(`  ${name.padEnd(26)}${cells.join('')}`);
  }
}

function printTransfer(label: string, f: TransferFigure): void {
  console.log(
    `  ${label.padEnd(22)} put ${fmt(f.putMBps).padStart(6)} MB/s (peak RSS ${fmt(f.putPeakRssMiB, 0)} MiB)   ` +
      `get ${fmt(f.getMBps).padStart(6)} MB/s (peak RSS ${fmt(f.getPeakRssMiB, 0)} MiB)`,
  );
  printCpu('put', f.putCpu);
  printCpu('get', f.getCpu);
}

/** CPU-s per GiB of file, the client first, then the hops that did the work (each ≥ 2 % of the total; results.json has all). */
function printCpu(label: string, c: CpuFigure): void {
  const total = c.clientSecPerGiB + c.hops.reduce((sum, h) => sum + h.secPerGiB, 0);
  const hops = c.hops
    .filter((h) => h.secPerGiB >= 0.02 * total)
    .map((h) => `${h.hop} ${fmt(h.secPerGiB)}`)
    .join(' · ');
  console.log(`  ${''.padEnd(22)} ${label} CPU-s/GiB: client ${fmt(c.clientSecPerGiB)}${hops ? ` · ${hops}` : ''}`);
}

async function main(): Promise<void> {
  const sizes = listEnv('BENCH_SIZES_MIB', [1, 16, 64, 512]);
  const sweep = listEnv('BENCH_SEGMENT_SIZES_KIB', [128, 512, 1024, 4096]).map((k) => k * 1024);
  const ldSizes = listEnv('BENCH_LONG_DISTANCE_SIZES_MIB', [...new Set([8, 64, ...sizes.filter((s) => s > 64)])].sort((x, y) => x - y));
  console.log(`intergrid bench — node ${process.version}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB`);

  console.log('primitives (MB/s of input):');
  const primitives = await benchPrimitives();
  for (const [name, value] of Object.entries(primitives)) console.log(`  ${name.padEnd(34)} ${fmt(value).padStart(8)}`);
  const zfec: ZfecFigure | { missing: string } = benchZfec();
  if ('missing' in zfec) console.log(`  zfec: ${zfec.missing}`);
  else {
    console.log(`  ${'zfec encode 3-of-10 (Tahoe)'.padEnd(34)} ${fmt(zfec.encodeMBps).padStart(8)}   (${zfec.python})`);
    console.log(`  ${'zfec decode 3-of-10, 2 data missing'.padEnd(34)} ${fmt(zfec.decodeMBps).padStart(8)}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'intergrid-bench-'));
  const { federationPath, stop } = await startFederation({ dir: join(dir, 'grid'), grids: 2, servers: 10 });
  const results: { segmentSweep: TransferFigure[]; transfers: TransferFigure[] } = { segmentSweep: [], transfers: [] };
  const longDistance: LongDistanceFigure[] = [];
  try {
    const federation = JSON.parse(readFileSync(federationPath, 'utf8')) as FederationView;
    const [home, remote] = federation.grids;
    if (!home || !remote) throw new Error(`bench: ${federationPath} lists fewer than two grids`);
    const clientConfig = home.clientConfig;
    const services = federation.services;

    console.log('segment size sweep (64 MiB, 3-of-10, 10 local servers):');
    for (const seg of sweep) {
      const { figure: f } = await transfer(dir, clientConfig, services, 64, seg);
      results.segmentSweep.push(f);
      printTransfer(`segment ${f.segmentKiB} KiB`, f);
    }

    console.log(`end to end, default segment ${DEFAULT_SEGMENT_SIZE / 1024} KiB:`);
    const bySize = new Map<number, Transferred>();
    for (const size of sizes) {
      const t = await transfer(dir, clientConfig, services, size, DEFAULT_SEGMENT_SIZE);
      bySize.set(size, t);
      results.transfers.push(t.figure);
      printTransfer(`${size} MiB`, t.figure);
    }

    if (ldSizes.length > 0) {
      console.log(`long distance: put in grid ${home.name}, get from grid ${remote.name} (client → gateway ${remote.name} → contact point ${home.name} → storage ${home.name}):`);
      const hops = hopsOf(federation, home.name, remote.name);
      const homeFiles: Transferred[] = [];
      for (const size of ldSizes) homeFiles.push(bySize.get(size) ?? (await transfer(dir, clientConfig, services, size, DEFAULT_SEGMENT_SIZE)));
      const output = join(dir, 'out-long-distance.bin');
      // Warm-up (resolution, connections, JIT) so the smallest size does not carry it.
      const first = homeFiles[0]!;
      await longDistanceGet({ cap: first.cap, clientConfig: remote.clientConfig, output, sizeMiB: first.figure.sizeMiB, wantSha256: first.sha256, localGetMBps: first.figure.getMBps, hops, services });
      for (const t of homeFiles) {
        const f = await longDistanceGet({ cap: t.cap, clientConfig: remote.clientConfig, output, sizeMiB: t.figure.sizeMiB, wantSha256: t.sha256, localGetMBps: t.figure.getMBps, hops, services });
        longDistance.push(f);
        printLongDistance(f);
      }
    }
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const growth = hopGrowth(longDistance);
  printHopMemory(longDistance);
  printGrowth(growth);

  // Memory: the pipeline's working set is reached once a file spans a few
  // segments, so flatness is judged from the second-largest size to the largest.
  const ratios: Record<string, number> = {};
  const last = results.transfers[results.transfers.length - 1];
  const prev = results.transfers[results.transfers.length - 2];
  const first = results.transfers[0];
  if (first && prev && last) {
    ratios.putRssLargestOverPrevious = last.putPeakRssMiB / prev.putPeakRssMiB;
    ratios.getRssLargestOverPrevious = last.getPeakRssMiB / prev.getPeakRssMiB;
    ratios.putRssLargestOverSmallest = last.putPeakRssMiB / first.putPeakRssMiB;
    ratios.getRssLargestOverSmallest = last.getPeakRssMiB / first.getPeakRssMiB;
    console.log(
      `memory: peak RSS ${last.sizeMiB} MiB vs ${prev.sizeMiB} MiB — put ×${fmt(ratios.putRssLargestOverPrevious, 2)}, get ×${fmt(ratios.getRssLargestOverPrevious, 2)}; ` +
        `vs ${first.sizeMiB} MiB — put ×${fmt(ratios.putRssLargestOverSmallest, 2)}, get ×${fmt(ratios.getRssLargestOverSmallest, 2)}`,
    );
  }
  const ld = longDistance.find((f) => f.sizeMiB === 64) ?? longDistance[longDistance.length - 1];
  if (ld) {
    ratios.longDistanceGetOverLocalGet = ld.overLocal;
    console.log(`long-distance get at ${ld.sizeMiB} MiB runs at ×${fmt(ld.overLocal, 2)} the local get (${fmt(ld.getMBps)} vs ${fmt(ld.localGetMBps)} MB/s)`);
  }
  const bound = primitives['primitive bound (encrypt+hash+encode)'];
  if (bound && last) {
    ratios.putOverPrimitiveBound = last.putMBps / bound;
    console.log(`put at ${last.sizeMiB} MiB reaches ${fmt(100 * ratios.putOverPrimitiveBound, 0)} % of the primitive bound`);
  }

  // Clearinghouse ingest (signed usage records/s, verified and posted), after the federation is gone.
  let clearinghouseIngest: IngestFigure | undefined;
  const ingestTransfers = Number(process.env.BENCH_INGEST_TRANSFERS ?? 20_000);
  if (ingestTransfers > 0) {
    clearinghouseIngest = await benchIngest({ transfers: ingestTransfers });
    printIngest(clearinghouseIngest);
  }

  const targets = targetsOf({ primitives, zfec: 'missing' in zfec ? undefined : zfec, transfers: results.transfers, longDistance, ingest: clearinghouseIngest });
  printTargets(targets);

  const out = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, primitives, zfec, ...results, longDistance: { gets: longDistance, peakGrowth: growth }, clearinghouseIngest, ratios, targets }, null, 2) + '\n',
  );
  console.log(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
