/**
 * The dashboard in a real browser (docs/web.md "Browser tests"): Debian's
 * chromium driven by playwright-core (fixtures/browser.ts) against
 * `intergrid up` (one grid of three storage servers and the clearinghouse)
 * and `intergrid web --admin <grid admin> --admin <clearinghouse operator>`,
 * both the built CLI as users run it.
 *
 * With the script: a file chosen in the page's file input is uploaded with
 * the progress bar reaching 100 % and its cap appearing; the cap's link and
 * a pasted cap in the download field both give back the exact bytes; the copy
 * button copies the cap; the status part lists the grid's three servers up
 * and the clearinghouse's grid. Without the script: the status part is there
 * and the plain forms upload and download. Then a storage server is stopped
 * (a reload shows it down and the problem), and the clearinghouse (its
 * section becomes one line; the page still answers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, isAlive, runBuiltCli } from './fixtures/built-cli.js';
import { launchChromium } from './fixtures/browser.js';

interface FederationFile {
  grids: { name: string; clientConfig: string; adminIdentity: string }[];
  services: { role: string; name: string; address: string; pid: number }[];
}

/** Spawns the built CLI and resolves with the first stdout line matching `ready`, or rejects when it exits first. */
async function startBuilt(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpExecArray; stderr: () => string }> {
  const proc = spawn(process.execPath, [builtCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: proc.stdout! });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = ready.exec(line);
      if (m) resolve(m);
    });
    proc.once('exit', (code, signal) => reject(new Error(`intergrid ${args[0]} exited ${code ?? signal}: ${stderr}`)));
  });
  return { proc, match, stderr: () => stderr };
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

/** SIGTERM to a service of the federation, and wait until it is gone. */
async function stopService(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 100));
}

/** The bytes of a finished browser download. */
async function downloaded(download: Download): Promise<Buffer> {
  const path = await download.path();
  return readFileSync(path);
}

describe('intergrid web: the dashboard in chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-web-dashboard-'));
  let up: ChildProcess | undefined;
  let web: ChildProcess | undefined;
  let browser: Browser | undefined;
  let federation: FederationFile;
  let url: string;
  let clientConfig: string;
  let gridAdmin: string;
  let chAdmin: string;
  /** The file uploaded with the script, and its cap. */
  const data = randomBytes(2 * 1024 * 1024 + 5);
  let cap = '';

  beforeAll(async () => {
    const started = await startBuilt(['up', '--dir', join(dir, 'fed'), '--grids', '1', '--servers', '3'], /^ready (.+)$/);
    up = started.proc;
    federation = JSON.parse(readFileSync(started.match[1]!, 'utf8')) as FederationFile;
    clientConfig = federation.grids[0]!.clientConfig;
    gridAdmin = federation.grids[0]!.adminIdentity;
    chAdmin = join(dir, 'fed', 'clearinghouse', 'admin.json');
    const w = await startBuilt(['web', '--config', clientConfig, '--listen', '127.0.0.1:0', '--admin', gridAdmin, '--admin', chAdmin], /^listening (http:\/\/\S+)$/);
    web = w.proc;
    url = w.match[1]!;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stop(web);
    await stop(up);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** A fresh context and page; `errors` collects console errors and uncaught exceptions (a CSP refusal is one). */
  async function open(options: { javaScriptEnabled: boolean }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser!.newContext({ acceptDownloads: true, javaScriptEnabled: options.javaScriptEnabled });
    context.setDefaultTimeout(120_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(`${url}/`);
    return { context, page, errors };
  }

  const state = (page: Page, server: string) => page.locator(`#status tr[data-server="${server}"] td.state`).textContent();

  it('a bad --admin file is one line at start and exit 2', async () => {
    const res = await runBuiltCli(['web', '--config', clientConfig, '--listen', '127.0.0.1:0', '--admin', clientConfig]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(new RegExp(`^intergrid: ${clientConfig} is not an operator identity file: [^\\n]+\\n$`));
  }, 60_000);

  it('uploads through the file input with the progress bar reaching 100 %, shows the cap, downloads it back and copies it', async () => {
    const { context, page, errors } = await open({ javaScriptEnabled: true });
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      // Every value the percentage shows, in order.
      await page.evaluate(`(() => {
        const out = document.getElementById('upload-percent');
        window.seenPercents = [];
        new MutationObserver(() => window.seenPercents.push(out.textContent)).observe(out, { childList: true, characterData: true, subtree: true });
      })()`);
      await page.locator('#upload-file').setInputFiles({ name: 'report 2026.bin', mimeType: 'application/octet-stream', buffer: data });
      await page.locator('#upload-button').click();
      await page.locator('#uploaded').waitFor({ state: 'visible' });

      cap = (await page.locator('#uploaded-cap').textContent()) ?? '';
      expect(cap).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:${data.length}:101$`));
      expect(await page.locator('#upload-bar').evaluate((el) => (el as unknown as { value: number }).value)).toBe(100);
      expect(await page.locator('#upload-percent').textContent()).toBe('100 %');
      const seen = (await page.evaluate('window.seenPercents')) as string[];
      const percents = seen.map((s) => Number(/^(\d+) %$/.exec(s)?.[1]));
      expect(percents.every((p) => Number.isInteger(p))).toBe(true);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(percents.at(-1)).toBe(100);
      expect(await page.locator('#upload-state').textContent()).toBe('done');
      expect(await page.locator('#upload-error').isHidden()).toBe(true);

      // The cap's link saves the file under its own name, byte for byte.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#uploaded-link').click()]);
      expect(download.suggestedFilename()).toBe('report 2026.bin');
      expect((await downloaded(download)).equals(data)).toBe(true);

      await page.locator('#copy-cap').click();
      await page.locator('#copy-state', { hasText: 'copied' }).waitFor();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(cap);
      // The page's own script and style loaded under its CSP: nothing refused, nothing thrown.
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('a cap pasted into the download field gives a link that downloads the same bytes', async () => {
    expect(cap).not.toBe('');
    const { context, page, errors } = await open({ javaScriptEnabled: true });
    try {
      const link = page.locator('#download-link');
      expect(await link.isHidden()).toBe(true);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      await page.evaluate(`navigator.clipboard.writeText(${JSON.stringify(`  ${cap}\n`)})`);
      await page.locator('#download-cap').focus();
      await page.keyboard.press('Control+V');
      await page.locator('#download-name').fill('again.bin');
      await link.waitFor({ state: 'visible' });
      expect(await link.getAttribute('href')).toBe(`/uri/${encodeURIComponent(cap)}?filename=again.bin`);
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toBe('again.bin');
      expect((await downloaded(download)).equals(data)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it("shows the grid's storage servers up and the clearinghouse's grid in the status tables", async () => {
    const { context, page } = await open({ javaScriptEnabled: true });
    try {
      expect(await page.locator('#status tr.server').count()).toBe(3);
      for (const s of ['storage-01', 'storage-02', 'storage-03']) expect(await state(page, s)).toBe('up');
      const grid = page.locator('#status section.grid');
      expect(await grid.locator('h2').textContent()).toBe('Grid 101');
      expect(await grid.locator('.health').textContent()).toBe('SERVING');
      expect(await grid.locator('.no-problems').count()).toBe(1);
      const ch = page.locator('#status section.clearinghouse');
      expect(await ch.locator('tr[data-area-code="101"] td').allTextContents()).toEqual(expect.arrayContaining(['101', 'a', 'active']));
      expect(await ch.locator('h3', { hasText: 'Open period' }).count()).toBe(1);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('without JavaScript: the status part is there, and the plain forms upload and download', async () => {
    const { context, page } = await open({ javaScriptEnabled: false });
    try {
      expect(await page.locator('#status tr.server').count()).toBe(3);
      expect(await state(page, 'storage-02')).toBe('up');
      // What only the script shows stays hidden.
      expect(await page.locator('#copy-cap').isHidden()).toBe(true);
      expect(await page.locator('#upload-progress').isHidden()).toBe(true);

      const plain = randomBytes(300_000);
      await page.locator('#upload-file').setInputFiles({ name: 'plain.bin', mimeType: 'application/octet-stream', buffer: plain });
      await Promise.all([page.waitForURL(/\/\?uploaded=/), page.locator('#upload-button').click()]);
      await page.locator('#uploaded').waitFor({ state: 'visible' });
      const plainCap = (await page.locator('#uploaded-cap').textContent()) ?? '';
      expect(plainCap).toMatch(new RegExp(`^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:${plain.length}:101$`));
      expect(new URL(page.url()).searchParams.get('uploaded')).toBe(plainCap);

      // The download form: /download → 303 → /uri/CAP?filename=NAME, saved by the browser.
      await page.locator('#download-cap').fill(plainCap);
      await page.locator('#download-name').fill('plain-back.bin');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-form button[type="submit"]').click()]);
      expect(download.suggestedFilename()).toBe('plain-back.bin');
      expect((await downloaded(download)).equals(plain)).toBe(true);

      // GET /status alone reads without a script too.
      await page.goto(`${url}/status`);
      expect(await page.locator('#status tr.server').count()).toBe(3);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('a stopped storage server shows as down after a reload; a stopped clearinghouse is one line in its section', async () => {
    const { context, page } = await open({ javaScriptEnabled: true });
    try {
      const server = federation.services.find((s) => s.role === 'storage-server' && s.name === 'a/storage-03')!;
      await stopService(server.pid);
      await page.reload();
      expect(await state(page, 'storage-03')).toBe('down');
      expect(await state(page, 'storage-01')).toBe('up');
      expect(await page.locator('#status section.grid .problems li[data-kind="server-down"]').textContent()).toMatch(/^storage server storage-03 at 127\.0\.0\.1:\d+ is DOWN/);

      const clearinghouse = federation.services.find((s) => s.role === 'clearinghouse')!;
      await stopService(clearinghouse.pid);
      const res = await page.reload();
      expect(res?.status()).toBe(200);
      const gone = page.locator('#status section.unavailable');
      expect(await gone.locator('h2').textContent()).toBe('Clearinghouse');
      expect(await gone.locator('p.error').textContent()).toMatch(new RegExp(`^clearinghouse at ${clearinghouse.address.replace(/\./g, '\\.')} is unreachable: `));
      // The grid's section is still there.
      expect(await state(page, 'storage-03')).toBe('down');
    } finally {
      await context.close();
    }
  }, 180_000);
});
