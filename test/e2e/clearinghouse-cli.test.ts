/**
 * The built CLI's clearinghouse commands against `intergrid serve
 * clearinghouse` (both child processes, as an operator runs them): init,
 * admit, approve-gateway, suspend/reinstate, prices, grids; errors are one
 * stderr line with the documented exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCertificateBase64 } from '../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

let dir: string;
let admin: string;
let server: ServedProcess | undefined;
let address: string;

/** Runs `intergrid clearinghouse <args> --admin admin.json --clearinghouse <address>`. */
function ch(...args: string[]) {
  return runBuiltCli(['clearinghouse', ...args, '--admin', admin, '--clearinghouse', address]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-ch-cli-'));
  const init = await runBuiltCli(['clearinghouse', 'init', '--dir', dir, '--listen', '127.0.0.1:0']);
  expect(init.code).toBe(0);
  const [configPath, adminPath] = init.stdout.trim().split('\n');
  admin = adminPath!;
  server = await serveBuilt('clearinghouse', configPath!);
  address = server.address;
}, 30_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('intergrid clearinghouse', () => {
  it('admit prints the requested area code alone', async () => {
    const res = await ch('admit', '--grid-manager-key', toHex(generateKeyPair().publicKey), '--name', 'east', '--area-code', '301', '--price', '5');
    expect(res).toMatchObject({ code: 0, stdout: '301\n', stderr: '' });
  });

  it('admit without --area-code prints the next free code', async () => {
    const res = await ch('admit', '--grid-manager-key', toHex(generateKeyPair().publicKey), '--name', 'west');
    expect(res).toMatchObject({ code: 0, stdout: '101\n' });
  });

  it('admit of a taken area code fails with one stderr line and exit code 1', async () => {
    const res = await ch('admit', '--grid-manager-key', toHex(generateKeyPair().publicKey), '--name', 'dup', '--area-code', '301');
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/area code 301 is already admitted/);
  });

  it('approve-gateway prints a gateway-approval certificate for the area code', async () => {
    const key = generateKeyPair();
    const res = await ch('approve-gateway', '--area-code', '301', '--key', toHex(key.publicKey));
    expect(res.code).toBe(0);
    const cert = decodeCertificateBase64(res.stdout.trim());
    expect(cert).toMatchObject({ role: 'gateway-approval', grid: '301' });
    expect(toHex(cert.subject)).toBe(toHex(key.publicKey));
  });

  it('suspend and reinstate show in grids --json', async () => {
    expect((await ch('suspend', '--area-code', '301')).stdout).toBe('301 suspended\n');
    let grids = JSON.parse((await ch('grids', '--json')).stdout) as { areaCode: string; suspended: boolean }[];
    expect(grids.find((g) => g.areaCode === '301')?.suspended).toBe(true);
    expect((await ch('reinstate', '--area-code', '301')).stdout).toBe('301 active\n');
    grids = JSON.parse((await ch('grids', '--json')).stdout) as { areaCode: string; suspended: boolean }[];
    expect(grids.find((g) => g.areaCode === '301')?.suspended).toBe(false);
  });

  it('prices set changes what prices list reports', async () => {
    expect((await ch('prices', 'set', '--area-code', '301', '--price', '12')).code).toBe(0);
    const list = JSON.parse((await ch('prices', 'list', '--json')).stdout) as { areaCode: string; priceUnitsPerGib: number }[];
    expect(list.find((p) => p.areaCode === '301')?.priceUnitsPerGib).toBe(12);
  });

  it('an unknown area code fails with exit code 1 naming it', async () => {
    const res = await ch('suspend', '--area-code', '999');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/area code 999 is not admitted/);
  });

  it('a malformed key is a usage error (exit code 2)', async () => {
    const res = await ch('admit', '--grid-manager-key', 'xyz', '--name', 'bad');
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});
