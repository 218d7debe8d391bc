/**
 * `npm run bench`: primitive throughputs, then end-to-end put/get through a
 * real local grid (grid manager + 10 storage servers, each its own process,
 * loopback), run through the built CLI exactly as a user runs it. Prints the
 * figures and writes them to bench/results.json.
 *
 * Options (environment, for quick runs): BENCH_SIZES_MIB="1,64,512",
 * BENCH_SEGMENT_SIZES_KIB="256,1024,4096" (the segment-size sweep at 64 MiB).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPrimitives } from './primitives.js';
import { runCli, writeRandomFile, sha256File } from './cli-run.js';
import { startFederation } from '../services/cli/launcher/federation.js';
import { DEFAULT_SEGMENT_SIZE } from '../libs/format/index.js';

const MiB = 1024 * 1024;

function listEnv(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  return v ? v.split(',').map((s) => Number(s.trim())) : fallback;
}

interface TransferFigure {
  sizeMiB: number;
  segmentKiB: number;
  putMBps: number;
  getMBps: number;
  putPeakRssMiB: number;
  getPeakRssMiB: number;
}

const fmt = (x: number, d = 1): string => x.toFixed(d);

async function transfer(dir: string, clientConfig: string, sizeMiB: number, segmentSize: number): Promise<TransferFigure> {
  const config = JSON.parse(readFileSync(clientConfig, 'utf8')) as { encoding?: Record<string, number> };
  config.encoding = { ...(config.encoding ?? {}), segmentSize };
  const cfgPath = join(dir, `client-seg${segmentSize}.json`);
  writeFileSync(cfgPath, JSON.stringify(config), { mode: 0o600 });
  const input = join(dir, `in-${sizeMiB}.bin`);
  const output = join(dir, `out-${sizeMiB}.bin`);
  const want = await writeRandomFile(input, sizeMiB * MiB);
  const put = await runCli(['put', input, '--config', cfgPath]);
  const cap = put.stdout.trim();
  const get = await runCli(['get', cap, '--config', cfgPath, '-o', output]);
  const got = await sha256File(output);
  if (got !== want) throw new Error(`bench: ${sizeMiB} MiB came back different (sha256 ${got} != ${want})`);
  rmSync(input);
  rmSync(output);
  const mb = (sizeMiB * MiB) / 1e6;
  return {
    sizeMiB,
    segmentKiB: segmentSize / 1024,
    putMBps: mb / put.seconds,
    getMBps: mb / get.seconds,
    putPeakRssMiB: put.maxRssBytes / MiB,
    getPeakRssMiB: get.maxRssBytes / MiB,
  };
}

function printTransfer(label: string, f: TransferFigure): void {
  console.log(
    `  ${label.padEnd(22)} put ${fmt(f.putMBps).padStart(6)} MB/s (peak RSS ${fmt(f.putPeakRssMiB, 0)} MiB)   ` +
      `get ${fmt(f.getMBps).padStart(6)} MB/s (peak RSS ${fmt(f.getPeakRssMiB, 0)} MiB)`,
  );
}

async function main(): Promise<void> {
  const sizes = listEnv('BENCH_SIZES_MIB', [1, 64, 512]);
  const sweep = listEnv('BENCH_SEGMENT_SIZES_KIB', [128, 512, 1024, 4096]).map((k) => k * 1024);
  console.log(`intergrid bench — node ${process.version}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB`);

  console.log('primitives (MB/s of input):');
  const primitives = await benchPrimitives();
  for (const [name, value] of Object.entries(primitives)) console.log(`  ${name.padEnd(34)} ${fmt(value).padStart(8)}`);

  const dir = mkdtempSync(join(tmpdir(), 'intergrid-bench-'));
  const { federationPath, stop } = await startFederation({ dir: join(dir, 'grid'), grids: 1, servers: 10 });
  const results: { segmentSweep: TransferFigure[]; transfers: TransferFigure[] } = { segmentSweep: [], transfers: [] };
  try {
    const federation = JSON.parse(readFileSync(federationPath, 'utf8')) as { grids: { clientConfig: string }[] };
    const clientConfig = federation.grids[0]!.clientConfig;

    console.log('segment size sweep (64 MiB, 3-of-10, 10 local servers):');
    for (const seg of sweep) {
      const f = await transfer(dir, clientConfig, 64, seg);
      results.segmentSweep.push(f);
      printTransfer(`segment ${f.segmentKiB} KiB`, f);
    }

    console.log(`end to end, default segment ${DEFAULT_SEGMENT_SIZE / 1024} KiB:`);
    for (const size of sizes) {
      const f = await transfer(dir, clientConfig, size, DEFAULT_SEGMENT_SIZE);
      results.transfers.push(f);
      printTransfer(`${size} MiB`, f);
    }
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }

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
  const bound = primitives['primitive bound (encrypt+hash+encode)'];
  if (bound && last) {
    ratios.putOverPrimitiveBound = last.putMBps / bound;
    console.log(`put at ${last.sizeMiB} MiB reaches ${fmt(100 * ratios.putOverPrimitiveBound, 0)} % of the primitive bound`);
  }

  const out = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, primitives, ...results, ratios }, null, 2) + '\n',
  );
  console.log(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
