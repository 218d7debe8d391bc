/**
 * `intergrid web` as users run it: the built CLI (dist/, `npm run build`)
 * as a child process with a client.json on disk, against a real in-process
 * grid (4 KiB segments). It prints `listening http://HOST:PORT`, answers
 * the API there and exits 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { builtCli } from './fixtures/built-cli.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';
import { getRange, put, request, uriOf } from './fixtures/web-http.js';

const SEG = 4096;
let grid: LocalGrid;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10, encoding: { segmentSize: SEG } });
}, 120_000);

afterAll(async () => {
  await grid?.stop();
});

/** Starts `intergrid web`; resolves with its URL once it printed the listening line. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [builtCli(), 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`intergrid web exited ${code ?? signal}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

describe('intergrid web (the built CLI)', () => {
  it('prints its URL, uploads and downloads there, and exits 0 on SIGTERM', async () => {
    const { child, url, stderr } = await startCli(['--config', grid.clientConfigPath, '--listen', '127.0.0.1:0']);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const data = randomBytes(3 * SEG + 7);
      const { answer, cap } = await put(url, data);
      expect(answer.status, answer.body.toString()).toBe(201);
      const got = await request(url, uriOf(cap));
      expect(got.status).toBe(200);
      expect(got.body.equals(data)).toBe(true);
      const part = await getRange(url, uriOf(cap), `bytes=${SEG - 1}-${SEG}`);
      expect(part.status).toBe(206);
      expect(part.body.equals(data.subarray(SEG - 1, SEG + 1))).toBe(true);
      expect((await request(url, '/nope-not-a-page')).status).toBe(404);
      expect((await request(url, uriOf('not a cap'))).status).toBe(400);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited, stderr()).toBe(0);
    }
    // It stopped listening.
    await expect(request(url, '/')).rejects.toThrow();
  }, 60_000);

  it('refuses a bad client.json and a bad --listen before listening', async () => {
    const bad = await startCli(['--config', '/nonexistent/client.json', '--listen', '127.0.0.1:0']).then(
      () => 'listened',
      (err: Error) => err.message,
    );
    expect(bad).toMatch(/exited [1-9]/);
    const listen = await startCli(['--config', grid.clientConfigPath, '--listen', 'no-port']).then(
      () => 'listened',
      (err: Error) => err.message,
    );
    expect(listen).toMatch(/exited [1-9].*listen/s);
  }, 60_000);
});
