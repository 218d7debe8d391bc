/**
 * README.md "A federation on this machine", run as a new user would: every
 * command of its ```sh blocks (not the S3 variant, which up-s3.test.ts runs)
 * against a fresh `npx intergrid up`, as written, from the repository root
 * (so `npx intergrid` is this checkout's built CLI). What differs: `/tmp/…`
 * paths are inside a fresh temp dir, the file is smaller, and fixed ports
 * (none today; e.g. a `--listen 127.0.0.1:8080 &` line) become free
 * ephemeral ones (test/e2e/fixtures/readme-commands.ts).
 *
 * The `up` line runs in the background in its own process group until it
 * prints "ready …"; every other line runs in order in one bash process
 * (`set -euo pipefail`, each line's exit status checked). Then: the script's
 * own background lines are killed, `up` gets Ctrl-C's SIGINT, and nothing
 * of either is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { bashScript, fixedPorts, outputOf, substituteLine, transcriptSteps, walkthrough, type Step } from './fixtures/readme-commands.js';
import { isAlive } from './fixtures/built-cli.js';

const ROOT = join(import.meta.dirname, '../..');
const SECTION = 'A federation on this machine';
/**
 * The README writes 100 MiB, which takes minutes on the 2 shared cores the
 * tests run on (put, two gets, cmp); 8 MiB still spans 8 one-MiB segments,
 * so the same paths are exercised.
 */
const FILE_SIZE = '8M';
const FILE_BYTES = 8 * 2 ** 20;

interface Federation {
  services: { role: string; name: string; pid: number }[];
}

/** A free loopback port (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether any process of group `pgid` still runs. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals process group `pgid`, waits up to `ms` for it to be gone; SIGKILLs what is left. Resolves whether it went by itself. */
async function stopGroup(pgid: number, signal: NodeJS.Signals, ms: number): Promise<boolean> {
  if (!groupAlive(pgid)) return true;
  process.kill(-pgid, signal);
  const until = Date.now() + ms;
  while (groupAlive(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  if (!groupAlive(pgid)) return true;
  process.kill(-pgid, 'SIGKILL');
  return false;
}

/** Runs `line` (the README's `npx intergrid up …`) through bash in its own process group; resolves at its "ready …" line. */
async function startUp(line: string): Promise<{ proc: ChildProcess; ready: string; output: () => string }> {
  const proc = spawn('bash', ['-c', `exec ${line}`], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const lines = createInterface({ input: proc.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.on('line', (l) => {
      output += l + '\n';
      if (l.startsWith('ready ')) resolve(l);
    });
    proc.once('exit', (code, signal) => reject(new Error(`${line} exited ${code ?? signal} before "ready":\n${output}`)));
  });
  return { proc, ready, output: () => output };
}

/** Runs the script in bash, in its own process group (its background lines stay in it); resolves at bash's exit. */
async function runScript(script: string): Promise<{ code: number | null; transcript: string; pgid: number }> {
  const proc = spawn('bash', ['-c', script], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let transcript = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (transcript += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (transcript += d));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  // Output still in the pipe when bash exits (a background line may keep it open: do not wait for that).
  await new Promise((r) => setTimeout(r, 100));
  return { code, transcript, pgid: proc.pid! };
}

describe('README: A federation on this machine', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'intergrid-readme-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('every command runs as written against a fresh `up`: identical bytes, status, usage, the ledger, the statements', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const w = walkthrough(readme, SECTION);
    const ports = new Map<number, number>();
    for (const p of fixedPorts([w.up, ...w.lines])) ports.set(p, await freePort());
    const subs = { tmpDir: tmp, fileSize: FILE_SIZE, ports };
    const upLine = substituteLine(w.up, subs);
    const lines = w.lines.map((l) => substituteLine(l, subs));

    const up = await startUp(upLine);
    let upStopped = false;
    let scriptGroup: number | undefined;
    try {
      // The README says what `up` prints.
      const promised = /prints "(ready [^"]+)"/.exec(upLine);
      expect(promised, upLine).not.toBeNull();
      expect(up.ready).toBe(promised![1]);
      const federation = JSON.parse(readFileSync(up.ready.slice('ready '.length), 'utf8')) as Federation;

      const run = await runScript(bashScript(lines));
      scriptGroup = run.pgid;
      const context = `${run.transcript}\n--- up:\n${up.output()}`;
      expect(run.code, context).toBe(0);
      const steps: Step[] = transcriptSteps(run.transcript);
      // Every line ran, in README order.
      expect(steps.map((s) => s.command)).toEqual(lines);

      const cap = /^readme-var CAP=(.*)$/m.exec(run.transcript)?.[1];
      expect(cap, context).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:${FILE_BYTES}:101$`));
      expect(outputOf(steps, /^cmp /), context).toMatch(/^identical$/m);

      // Grid a on one screen, from its admin.json alone: all ten storage servers up, nothing wrong.
      const status = outputOf(steps, /^npx intergrid status --admin \S+\/a\/grid-manager\/admin\.json/);
      expect(status, context).toMatch(/^grid 101 {2}grid manager 127\.0\.0\.1:\d+ {2}SERVING/m);
      expect(status.match(/^ {2}storage-\d\d\s+127\.0\.0\.1:\d+\s+up\s/gm), status).toHaveLength(10);
      expect(status).toMatch(/^no problems$/m);

      // Grid b's usage: its client's long-distance bytes from 101.
      const usage = outputOf(steps, /^npx intergrid grid usage /);
      expect(usage, context).toMatch(new RegExp(`^ {2}client\\s+[0-9a-f]{64}\\s+from 101\\s+${FILE_BYTES} bytes\\s+1 transfers`, 'm'));

      // The bill: 101 exported the file's bytes to 102; the closed period's statements sum to zero.
      expect(outputOf(steps, /clearinghouse ledger /), context).toMatch(new RegExp(`^ {2}101 → 102 {2}1 transfers {2}${FILE_BYTES} B {2}\\d+ units owed to 101$`, 'm'));
      expect(outputOf(steps, /clearinghouse close-period /), context).toMatch(/^period 1 closed: .*1 transfers, 2 grid statements$/m);
      const statementJson = outputOf(steps, /clearinghouse statement .*--json/);
      const statement = JSON.parse(statementJson.slice(0, statementJson.lastIndexOf('}') + 1)) as {
        period: { id: string };
        summary: { totalUnits: number; balances: { areaCode: string; netUnits: number }[] };
      };
      expect(statement.period.id).toBe('1');
      expect(statement.summary.totalUnits).toBe(0);
      const net = Object.fromEntries(statement.summary.balances.map((b) => [b.areaCode, b.netUnits]));
      expect(net['101']).toBeGreaterThan(0);
      expect(net['102']).toBe(-net['101']!);
      expect(outputOf(steps, /^npx intergrid status --admin \S+\/clearinghouse\/admin\.json/), context).toMatch(/^last closed {6}period 1 closed .*1 transfers, 2 grid statements$/m);
      // Grid b's copy, verified by its manager, straight after the close.
      const own = outputOf(steps, /grid statements /);
      expect(own, context).toMatch(new RegExp(`^period 1: net ${-net['101']!} units \\(owed by this grid\\)$`, 'm'));
      expect(own).toMatch(new RegExp(`^ {2}with 101\\s+exported 0 bytes \\(\\+0\\)\\s+imported ${FILE_BYTES} bytes`, 'm'));

      // The script's background lines (none today): killed; then nothing of the script runs.
      // The web API as grid b's client: grid a's file through b's gateway, a range of it, an upload to b.
      expect(outputOf(steps, /^curl -sS -o /), context).toMatch(/^identical$/m);
      expect(outputOf(steps, /^curl -sS -r /), context).toMatch(/^range identical$/m);
      expect(outputOf(steps, /^curl -sS -T /), context).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:${FILE_BYTES}:102$`, 'm'));
      expect(await stopGroup(run.pgid, 'SIGTERM', 15_000), 'the script left processes that ignored SIGTERM').toBe(true);

      // Ctrl-C on `up`: SIGINT to its process group, as a terminal sends it. `intergrid up` exits 0 and npm exec,
      // the process the README's `npx` starts, then ends itself with the same signal; every service is gone.
      const exited = new Promise<string>((resolve) => up.proc.once('exit', (code, signal) => resolve(String(code ?? signal))));
      process.kill(-up.proc.pid!, 'SIGINT');
      expect(await exited, up.output()).toMatch(/^(0|SIGINT)$/);
      // No error on the way down (a service dying on Ctrl-C instead of draining would be reported here).
      expect(up.output()).not.toMatch(/\berror\b|^intergrid: /im);
      upStopped = true;
      const until = Date.now() + 15_000;
      while (groupAlive(up.proc.pid!) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(groupAlive(up.proc.pid!), 'processes of `up` still running after it exited').toBe(false);
      for (const s of federation.services) expect(isAlive(s.pid), s.name).toBe(false);
    } finally {
      if (scriptGroup !== undefined) await stopGroup(scriptGroup, 'SIGKILL', 5000);
      if (!upStopped) await stopGroup(up.proc.pid!, 'SIGINT', 30_000);
    }
  }, 600_000);
});
