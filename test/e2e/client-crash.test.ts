/**
 * A client killed in the middle of an upload (SIGKILL, no cleanup of its
 * own): the servers drop the half-written shares, nothing of the file is ever
 * visible, and the next upload and download work.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, runBuiltCli } from './fixtures/built-cli.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

let grid: LocalGrid;
let work: string;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10 });
  work = mkdtempSync(join(tmpdir(), 'intergrid-crash-'));
});
afterAll(async () => {
  await grid?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every regular file under `dir` with its size. */
function filesUnder(dir: string): { path: string; size: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { path, size: statSync(path).size };
    });
}

const incomingBytes = (): number => grid.servers.reduce((sum, s) => sum + filesUnder(join(s.dataDir, 'incoming')).reduce((a, f) => a + f.size, 0), 0);
const shareFiles = (): number => grid.servers.reduce((sum, s) => sum + filesUnder(join(s.dataDir, 'shares')).length, 0);

async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('client killed mid-upload', () => {
  it('leaves no visible or half-written share, and the next upload and download work', async () => {
    const big = join(work, 'big.bin');
    writeFileSync(big, randomBytes(64 * 1024 * 1024));
    const child = spawn(process.execPath, [builtCli(), 'put', big, '--config', grid.clientConfigPath], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    // Kill it once the servers hold part of the shares, before any share can be complete.
    await waitUntil('the upload has started writing shares', () => incomingBytes() > 2 * 1024 * 1024);
    child.kill('SIGKILL');
    await exited;

    // The servers notice the broken streams and remove the temp files; nothing was ever closed.
    await waitUntil('the servers dropped the partial shares', () => incomingBytes() === 0);
    expect(shareFiles()).toBe(0);

    // The grid is usable: a new upload and a byte-exact download.
    const small = randomBytes(2 * 1024 * 1024 + 5);
    const input = join(work, 'small.bin');
    writeFileSync(input, small);
    const put = await runBuiltCli(['put', input, '--config', grid.clientConfigPath]);
    expect(put.code, put.stderr).toBe(0);
    const out = join(work, 'small.out');
    const get = await runBuiltCli(['get', put.stdout.trim(), '--config', grid.clientConfigPath, '-o', out]);
    expect(get.code, get.stderr).toBe(0);
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(out))).toBe(sha(small));
    expect(shareFiles()).toBe(10);
  }, 120_000);
});
