/**
 * Runs the built `intergrid` CLI as a child process and measures it from the
 * outside: wall time, and the child's own peak RSS and CPU time, read inside
 * the child (process.resourceUsage() at exit) through a `--import` hook, so
 * no bench code lives in the CLI itself.
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../services/cli/main.js', import.meta.url));
const RSS_HOOK =
  "data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('\\nintergrid-bench-usage '+u.maxRSS+' '+(u.userCPUTime+u.systemCPUTime)+'\\n')})";

export interface CliRun {
  stdout: string;
  seconds: number;
  /** Peak resident set of the CLI process, bytes. */
  maxRssBytes: number;
  /** CPU the CLI process used (user + system, all its threads), seconds. */
  cpuSeconds: number;
}

/** Runs `intergrid <args>`; rejects with its stderr on a non-zero exit. */
export async function runCli(args: string[]): Promise<CliRun> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const m = /intergrid-bench-usage (\d+) (\d+)/.exec(stderr);
  if (code !== 0) throw new Error(`intergrid ${args[0]} exited ${code}: ${stderr.replace(/\n?intergrid-bench-usage \d+ \d+\n?/, '').trim()}`);
  return { stdout, seconds, maxRssBytes: m ? Number(m[1]) * 1024 : NaN, cpuSeconds: m ? Number(m[2]) / 1e6 : NaN };
}

/** Writes `bytes` random bytes to `path` in 4 MiB chunks; returns the sha256 hex. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, chunk.length);
    randomFillSync(chunk, 0, n);
    const piece = Buffer.from(chunk.subarray(0, n));
    hash.update(piece);
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

/** sha256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
