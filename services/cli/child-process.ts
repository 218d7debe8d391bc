/**
 * Supervising service child processes for `intergrid up`: each service runs as
 * `node <cli> serve <service> --config FILE` (exactly what an operator runs),
 * prints one line `listening <address>` on stdout when it answers (after a
 * `metrics <address>` line when its config serves metrics), and stops
 * cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UnavailableError } from '../../libs/errors/index.js';

/** The CLI entry point of this installation (dist/services/cli/main.js when built). */
export function cliEntry(): string {
  return fileURLToPath(new URL('./main.js', import.meta.url));
}

export interface ServiceChild {
  role: string;
  name: string;
  address: string;
  /** host:port of its Prometheus endpoint, when its config has `metrics.listen`. */
  metricsAddress?: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/**
 * Spawns `intergrid serve <service> --config <configPath>`, waits for its
 * `listening <address>` line (or fails with the child's exit and log path).
 */
export async function startServiceChild(opts: {
  role: string;
  name: string;
  service: string;
  configPath: string;
  logFile: string;
  timeoutMs?: number;
}): Promise<ServiceChild> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const entry = cliEntry();
  // Run TypeScript sources through tsx when the CLI itself runs from source (tests);
  // the built CLI runs plain node.
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const child = spawn(process.execPath, [...args, 'serve', opts.service, '--config', opts.configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  let metricsAddress: string | undefined;
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new UnavailableError(`${opts.name} did not start within ${opts.timeoutMs ?? 30000} ms (log: ${opts.logFile})`));
    }, opts.timeoutMs ?? 30_000);
    lines.on('line', (line) => {
      const m = /^listening (\S+)$/.exec(line.trim());
      const metrics = /^metrics (\S+)$/.exec(line.trim());
      if (metrics) {
        metricsAddress = metrics[1]!;
      } else if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      } else {
        log.write(line + '\n');
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new UnavailableError(`${opts.name} exited with code ${code} before listening (log: ${opts.logFile})`));
    });
  });
  return { role: opts.role, name: opts.name, address, ...(metricsAddress ? { metricsAddress } : {}), pid: child.pid!, process: child, logFile: opts.logFile, exited };
}

/** Sends SIGTERM to every child, then SIGKILL to those still running after `graceMs`. */
export async function stopChildren(children: ServiceChild[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.process.exitCode !== null || c.process.signalCode !== null) return;
      c.process.kill('SIGTERM');
      const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
      await c.exited;
      clearTimeout(timer);
    }),
  );
}
