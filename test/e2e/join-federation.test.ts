/**
 * `intergrid clearinghouse invite` + `intergrid grid join-federation` through
 * the built CLI: a grid manager (served by `intergrid serve grid-manager`)
 * joins a clearinghouse (`intergrid serve clearinghouse`) by invite code; the
 * clearinghouse lists it with the invite's name and price, the grid manager
 * config gains the clearinghouse section, still serves, and with it fetches the
 * grid's settlement statement from the clearinghouse. A reused, garbled,
 * wrong-kind or wrong-area code is one clear stderr line and a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyFile } from '../../libs/auth/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { decodeGridInvite } from '../../libs/federation/index.js';
import { initGridManager, loadGridManagerConfig } from '../../services/grid-manager/index.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

let dir: string;
let chAdmin: string;
let chServer: ServedProcess | undefined;
let gmServer: ServedProcess | undefined;
let gmConfig: string;
let gmAdmin: string;

/** `intergrid clearinghouse invite ...` as the operator; returns the code (stdout, one line). */
async function invite(...args: string[]): Promise<string> {
  const res = await runBuiltCli(['clearinghouse', 'invite', '--admin', chAdmin, '--clearinghouse', chServer!.address, '--expires', '1h', ...args]);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stderr).toMatch(/valid until .*intergrid grid join-federation CODE --config/);
  expect(res.stdout.split('\n')).toHaveLength(2);
  return res.stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-join-fed-'));
  const init = await runBuiltCli(['clearinghouse', 'init', '--dir', join(dir, 'ch'), '--listen', '127.0.0.1:0']);
  expect(init.code, init.stderr).toBe(0);
  const [chConfig, adminPath] = init.stdout.trim().split('\n');
  chAdmin = adminPath!;
  chServer = await serveBuilt('clearinghouse', chConfig!);
  const gm = initGridManager(join(dir, 'gm'), { areaCode: '301', listen: '127.0.0.1:0' });
  gmConfig = gm.configPath;
  gmAdmin = gm.adminIdentityPath;
  gmServer = await serveBuilt('grid-manager', gmConfig);
}, 60_000);

afterAll(async () => {
  await gmServer?.stop();
  await chServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('intergrid clearinghouse invite + grid join-federation', () => {
  it('the grid joins: listed with the invite name and price; the config gains the clearinghouse, the restarted grid manager fetches its statement; a retry gets the same admission, another grid is refused', async () => {
    const before = JSON.parse(readFileSync(gmConfig, 'utf8')) as Record<string, unknown>;
    const modeBefore = statSync(gmConfig).mode & 0o777;
    const code = await invite('--name', 'east', '--area-code', '301', '--price', '9');
    expect(code).toMatch(/^IC1-[A-Z2-7]+$/);

    const joined = await runBuiltCli(['grid', 'join-federation', code, '--config', gmConfig]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toMatch(/grid 'east' admitted as area code 301 at clearinghouse/);
    expect(joined.stdout).toContain('restart the grid manager');
    expect(joined.stdout).toContain('intergrid clearinghouse approve-gateway --area-code 301 --key <gateway public key>');

    const gridKey = toHex(readKeyFile(loadGridManagerConfig(gmConfig).keyFile).publicKey);
    const grids = await runBuiltCli(['clearinghouse', 'grids', '--json', '--admin', chAdmin, '--clearinghouse', chServer!.address]);
    expect(grids.code, grids.stderr).toBe(0);
    const listed = (JSON.parse(grids.stdout) as { areaCode: string; name: string; priceUnitsPerGib: number; gridManagerKey: string }[]).find((g) => g.areaCode === '301');
    expect(listed).toMatchObject({ name: 'east', priceUnitsPerGib: 9, gridManagerKey: gridKey });

    const chKey = toHex(readKeyFile(join(dir, 'ch', 'clearinghouse-key.json')).publicKey);
    const after = JSON.parse(readFileSync(gmConfig, 'utf8')) as Record<string, unknown>;
    expect(after).toEqual({ ...before, clearinghouse: { address: chServer!.address, publicKey: chKey } });
    expect(statSync(gmConfig).mode & 0o777).toBe(modeBefore);
    expect(loadGridManagerConfig(gmConfig).clearinghouse).toEqual({ address: chServer!.address, publicKey: chKey });
    // Restarted with the new config, the grid manager uses the section: it
    // fetches (as the admitted grid) the statement of a period the operator closed.
    const closed = await runBuiltCli(['clearinghouse', 'close-period', '--admin', chAdmin, '--clearinghouse', chServer!.address]);
    expect(closed.code, closed.stderr).toBe(0);
    await gmServer?.stop();
    gmServer = await serveBuilt('grid-manager', gmConfig, { env: { INTERGRID_STATEMENT_POLL_MS: '300' } });
    const deadline = Date.now() + 30_000;
    let periods: string[] = [];
    while (!periods.includes('1')) {
      if (Date.now() > deadline) throw new Error(`the grid manager fetched no statement; its stderr: ${gmServer.stderr()}`);
      await new Promise((r) => setTimeout(r, 300));
      const statements = await runBuiltCli(['grid', 'statements', '--json', '--admin', gmAdmin, '--grid-manager', gmServer.address]);
      expect(statements.code, statements.stderr).toBe(0);
      periods = (JSON.parse(statements.stdout) as { periodId: string }[]).map((r) => r.periodId);
    }

    // The same code again by the same grid (a retry after a lost reply): the same admission, the same config.
    const retried = await runBuiltCli(['grid', 'join-federation', code, '--config', gmConfig]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/grid 'east' admitted as area code 301 at clearinghouse/);
    expect(JSON.parse(readFileSync(gmConfig, 'utf8'))).toEqual(after);

    // The same code by another grid manager: refused by the clearinghouse, its config untouched.
    const other = initGridManager(join(dir, 'gm-other'), { areaCode: '301', listen: '127.0.0.1:0' });
    const otherBefore = readFileSync(other.configPath, 'utf8');
    const reused = await runBuiltCli(['grid', 'join-federation', code, '--config', other.configPath]);
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(/^intergrid: clearinghouse \S+: invite already used \(redeemed at .*ask the clearinghouse operator for a new one/);
    expect(reused.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(other.configPath, 'utf8')).toBe(otherBefore);
  }, 90_000);

  it('garbled, wrong-kind and wrong-area codes are one clear line each, exit ≠ 0, nothing written', async () => {
    const before = readFileSync(gmConfig, 'utf8');
    const code = await invite('--name', 'north', '--area-code', '302');

    const garbled = await runBuiltCli(['grid', 'join-federation', code.slice(0, -3) + 'AAA', '--config', gmConfig]);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toMatch(/federation invite code is garbled/);
    expect(garbled.stderr).not.toContain(code.slice(4, 30));

    const wrongArea = await runBuiltCli(['grid', 'join-federation', code, '--config', gmConfig]);
    expect(wrongArea.code).not.toBe(0);
    expect(wrongArea.stderr).toMatch(/this invite is for area code 302, but the grid manager is configured with area code 301/);
    expect(wrongArea.stderr.trim().split('\n')).toHaveLength(1);

    const gridCode = await runBuiltCli(['grid', 'invite', '--admin', gmAdmin, '--grid-manager', gmServer!.address, '--role', 'client']);
    expect(gridCode.code, gridCode.stderr).toBe(0);
    const ig1 = await runBuiltCli(['grid', 'join-federation', gridCode.stdout.trim(), '--config', gmConfig]);
    expect(ig1.code).toBe(2);
    expect(ig1.stderr).toMatch(/this is a grid invite \(IG1-\).*intergrid join CODE --dir DIR/);

    const ic1 = await runBuiltCli(['join', code, '--dir', join(dir, 'node')]);
    expect(ic1.code).toBe(2);
    expect(ic1.stderr).toMatch(/this is a federation invite \(IC1-\).*intergrid grid join-federation CODE --config/);

    expect(readFileSync(gmConfig, 'utf8')).toBe(before);
  }, 60_000);

  it('invite --address puts where grids reach the clearinghouse into the code; a wildcard address is refused', async () => {
    const code = await invite('--name', 'south', '--address', 'ch.example.net:7000');
    expect(decodeGridInvite(code)).toMatchObject({ address: 'ch.example.net:7000', name: 'south', areaCode: '' });
    const wildcard = await runBuiltCli(['clearinghouse', 'invite', '--admin', chAdmin, '--clearinghouse', chServer!.address, '--name', 'x', '--address', '0.0.0.0:7000']);
    expect(wildcard.code).toBe(2);
    expect(wildcard.stderr).toMatch(/cannot be dialled by a grid: pass --address HOST:PORT/);
  }, 30_000);
});
