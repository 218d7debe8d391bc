/**
 * The built CLI (`node dist/services/cli/main.js`, made by `npm run build`)
 * against an in-process grid: put prints the cap alone, get writes exact
 * bytes (stdout, -o, --range), check reports health with its exit code,
 * errors are one stderr line with the documented exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCap } from '../../libs/caps/index.js';
import { decodeCertificateBase64 } from '../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { runBuiltCli } from './fixtures/built-cli.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

let grid: LocalGrid;
let work: string;
let cap: string;
const data = randomBytes(3 * 1024 * 1024 + 77);

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10 });
  work = mkdtempSync(join(tmpdir(), 'intergrid-cli-'));
  writeFileSync(join(work, 'in.bin'), data);
  const res = await runBuiltCli(['put', join(work, 'in.bin'), '--config', grid.clientConfigPath]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  cap = res.stdout.trim();
});

afterAll(async () => {
  await grid?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('intergrid put/get/check', () => {
  it('put prints exactly one line: a read-cap with the home area code', () => {
    const parsed = parseCap(cap);
    expect(parsed.kind).toBe('read');
    expect(parsed.areaCode).toBe(grid.areaCode);
    expect(parsed.size).toBe(data.length);
  });

  it('get -o writes the exact bytes and leaves no temp file', async () => {
    const out = join(work, 'out.bin');
    const res = await runBuiltCli(['get', cap, '--config', grid.clientConfigPath, '-o', out]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('get without -o writes the exact bytes to stdout', async () => {
    const res = await runBuiltCliBinary(['get', cap, '--config', grid.clientConfigPath]);
    expect(res.code).toBe(0);
    expect(res.stdout.equals(data)).toBe(true);
  });

  it('get --range START-END returns the inclusive range', async () => {
    const res = await runBuiltCliBinary(['get', cap, '--config', grid.clientConfigPath, '--range', '1048570-1048585']);
    expect(res.code).toBe(0);
    expect(res.stdout.equals(data.subarray(1048570, 1048586))).toBe(true);
  });

  it('put - uploads stdin', async () => {
    const small = randomBytes(100_000);
    const put = await runBuiltCli(['put', '-', '--config', grid.clientConfigPath], { stdin: small });
    expect(put.code).toBe(0);
    expect(parseCap(put.stdout.trim()).size).toBe(small.length);
    const got = await runBuiltCliBinary(['get', put.stdout.trim(), '--config', grid.clientConfigPath]);
    expect(got.stdout.equals(small)).toBe(true);
  });

  it('check --json reports a healthy file and exits 0', async () => {
    const res = await runBuiltCli(['check', cap, '--config', grid.clientConfigPath, '--json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as { healthy: boolean; goodShares: number };
    expect(report.healthy).toBe(true);
    expect(report.goodShares).toBe(10);
  });

  it('check exits 1 when a share is missing', async () => {
    await grid.stopServer(9);
    try {
      const res = await runBuiltCli(['check', cap, '--config', grid.clientConfigPath]);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/NOT HEALTHY/);
    } finally {
      await grid.restartServer(9);
    }
  });

  it('a malformed cap is one stderr line and exit code 2, and -o is not created', async () => {
    const out = join(work, 'never.bin');
    const res = await runBuiltCli(['get', 'URI:CHK:nonsense', '--config', grid.clientConfigPath, '-o', out]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^intergrid: /);
    expect(existsSync(out)).toBe(false);
  });

  it('grid approve prints a client certificate carrying the quota, and grid revoke marks the key revoked', async () => {
    const key = toHex(generateKeyPair().publicKey);
    const admin = ['--admin', grid.adminIdentityPath, '--grid-manager', grid.gridManagerAddress];
    const approved = await runBuiltCli(['grid', 'approve', ...admin, '--role', 'client', '--key', key, '--name', 'alice', '--quota', '1000000']);
    expect(approved.code).toBe(0);
    const cert = decodeCertificateBase64(approved.stdout.trim());
    expect(cert.role).toBe('client');
    expect(toHex(cert.subject)).toBe(key);
    expect(cert.limits.quota_bytes).toBe(1000000);
    const revoked = await runBuiltCli(['grid', 'revoke', ...admin, '--key', key]);
    expect(revoked.code).toBe(0);
    const list = await runBuiltCli(['grid', 'list', ...admin, '--json']);
    const rows = JSON.parse(list.stdout) as { key: string; revoked: boolean }[];
    expect(rows.find((r) => r.key === key)?.revoked).toBe(true);
  });

  it('grid approve rejects an unknown role with exit code 2', async () => {
    const res = await runBuiltCli(['grid', 'approve', '--admin', grid.adminIdentityPath, '--grid-manager', grid.gridManagerAddress, '--role', 'wizard', '--key', 'ab'.repeat(32)]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/wizard/);
  });

  it('grid usage --json prints storage per account and long-distance transfer tallies', async () => {
    const res = await runBuiltCli(['grid', 'usage', '--admin', grid.adminIdentityPath, '--grid-manager', grid.gridManagerAddress, '--json']);
    expect(res.code).toBe(0);
    const usage = JSON.parse(res.stdout) as { accounts: unknown[]; transfers: unknown[] };
    expect(Array.isArray(usage.accounts)).toBe(true);
    expect(usage.transfers).toEqual([]);
  });

  it('grid list shows the approved servers and client', async () => {
    const res = await runBuiltCli(['grid', 'list', '--admin', grid.adminIdentityPath, '--grid-manager', grid.gridManagerAddress, '--json']);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as { role: string }[];
    expect(rows.filter((r) => r.role === 'storage-server')).toHaveLength(10);
    expect(rows.some((r) => r.role === 'client')).toBe(true);
  });
});

/** Like runBuiltCli but keeps stdout as bytes (downloads are binary). */
async function runBuiltCliBinary(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const { builtCli } = await import('./fixtures/built-cli.js');
  const child = spawn(process.execPath, [builtCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout: Buffer.concat(out), stderr };
}
