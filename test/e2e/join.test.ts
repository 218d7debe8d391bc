/**
 * `intergrid grid invite` + `intergrid join` through the built CLI: three
 * storage servers and a client join a fresh grid by invite code, the servers
 * run under `intergrid serve storage` with the written configs, and the client
 * puts and gets a file with the written client.json. A reused or garbled code
 * is one clear stderr line and a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { initGridManager, loadAdminIdentity, loadGridManagerConfig, startGridManager, type RunningGridManager } from '../../services/grid-manager/index.js';
import { connectGridManager } from '../../libs/grid/index.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

let dir: string;
let gm: RunningGridManager;
let adminPath: string;
const served: ServedProcess[] = [];

async function invite(role: string): Promise<string> {
  const res = await runBuiltCli(['grid', 'invite', '--admin', adminPath, '--grid-manager', gm.address, '--role', role, '--expires', '1h']);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stderr).toMatch(/valid until/);
  return res.stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-join-'));
  const init = initGridManager(join(dir, 'gm'), { areaCode: '101', listen: '127.0.0.1:0' });
  gm = await startGridManager(loadGridManagerConfig(init.configPath));
  adminPath = init.adminIdentityPath;
}, 30_000);

afterAll(async () => {
  for (const s of served) await s.stop();
  await gm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('intergrid grid invite + join', () => {
  it('storage servers and a client join by invite; put/get work with the written client.json', async () => {
    for (let i = 1; i <= 3; i++) {
      const sDir = join(dir, `storage-${i}`);
      const res = await runBuiltCli(['join', await invite('storage'), '--dir', sDir, '--listen', '127.0.0.1:0', '--name', `storage-0${i}`]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/joined grid 101 as storage-server/);
      expect(statSync(join(sDir, 'key.json')).mode & 0o777).toBe(0o600);
      served.push(await serveBuilt('storage', join(sDir, 'config.json')));
    }
    const admin = loadAdminIdentity(adminPath);
    const conn = connectGridManager(gm.address, admin.identity, { gridManagerPublicKey: gm.publicKey });
    try {
      const deadline = Date.now() + 20_000;
      while ((await conn.getDirectory()).servers.length < 3) {
        if (Date.now() > deadline) throw new Error('storage servers did not announce');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      conn.close();
    }

    const cDir = join(dir, 'client');
    const joined = await runBuiltCli(['join', await invite('client'), '--dir', cDir]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toContain(join(cDir, 'client.json'));
    expect(statSync(join(cDir, 'client.json')).mode & 0o777).toBe(0o600);

    const data = randomBytes(200_000);
    writeFileSync(join(dir, 'in.bin'), data);
    const put = await runBuiltCli(['put', join(dir, 'in.bin'), '--config', join(cDir, 'client.json')]);
    expect(put.code, put.stderr).toBe(0);
    const got = await runBuiltCli(['get', put.stdout.trim(), '--config', join(cDir, 'client.json'), '-o', join(dir, 'out.bin')]);
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out.bin')).equals(data)).toBe(true);
  }, 90_000);

  it('a reused code and a garbled code are one clear line each, exit ≠ 0', async () => {
    const code = await invite('client');
    expect((await runBuiltCli(['join', code, '--dir', join(dir, 'c1')])).code).toBe(0);
    const reused = await runBuiltCli(['join', code, '--dir', join(dir, 'c2')]);
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(/invite already used/);
    expect(reused.stderr.trim().split('\n')).toHaveLength(1);
    const garbled = await runBuiltCli(['join', code.slice(0, -3) + 'AAA', '--dir', join(dir, 'c3')]);
    expect(garbled.code).not.toBe(0);
    expect(garbled.stderr).toMatch(/garbled/);
    expect(garbled.stderr).not.toContain(code.slice(4, 30));
    const admin = await runBuiltCli(['grid', 'invite', '--admin', adminPath, '--grid-manager', gm.address, '--role', 'admin']);
    expect(admin.code).not.toBe(0);
    expect(admin.stderr).toMatch(/not one of storage, client, gateway, contact-point/);
  }, 60_000);
});
