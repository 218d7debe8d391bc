/**
 * `intergrid join` writes a complete config for every role (built CLI, real
 * grid manager): a contact point's config loads with its service's loader, a
 * gateway's names the clearinghouse approval still to come and the next step
 * says how to get it, a storage server's carries --advertise. Flags are
 * checked before the one-time code is spent: missing role flags, a flag of
 * another role or an invalid value are one line, exit 2, nothing written, and
 * the same code still works afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateNatsCredentials, writeNatsCredentialsFile } from '../../libs/events/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initGridManager, loadGridManagerConfig, startGridManager, type RunningGridManager } from '../../services/grid-manager/index.js';
import { loadContactPointConfig } from '../../services/contact-point/index.js';
import { loadGatewayConfig } from '../../services/gateway/index.js';
import { loadStorageConfig } from '../../services/storage/index.js';
import { runBuiltCli } from './fixtures/built-cli.js';

let dir: string;
let gm: RunningGridManager;
let adminPath: string;
const CH_KEY = 'ab'.repeat(32);

async function invite(role: string): Promise<string> {
  const res = await runBuiltCli(['grid', 'invite', '--admin', adminPath, '--grid-manager', gm.address, '--role', role, '--expires', '1h']);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-join-roles-'));
  const init = initGridManager(join(dir, 'gm'), { areaCode: '104', listen: '127.0.0.1:0' });
  gm = await startGridManager(loadGridManagerConfig(init.configPath));
  adminPath = init.adminIdentityPath;
}, 30_000);

afterAll(async () => {
  await gm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('intergrid join: every role', () => {
  it('gateway: flags checked before the code is spent; then a config naming the approval, and the next step', async () => {
    const code = await invite('gateway');
    const gwDir = join(dir, 'gateway');
    const bare = await runBuiltCli(['join', code, '--dir', gwDir]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe('intergrid: a gateway invite needs --clearinghouse, --clearinghouse-key, --price-ceiling\n');
    const flags = ['--clearinghouse', 'ch.example:7300', '--clearinghouse-key', CH_KEY, '--price-ceiling', '5000'];
    const foreign = await runBuiltCli(['join', code, '--dir', gwDir, ...flags, '--gateway', 'gw:7500', '--advertise', 'x:1']);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toBe('intergrid: --advertise, --gateway do not apply to a gateway invite\n');
    const badNats = await runBuiltCli(['join', code, '--dir', gwDir, ...flags, '--nats', 'http://nats:4222']);
    expect(badNats.code).toBe(2);
    expect(badNats.stderr).toMatch(/^intergrid: the gateway config these flags give is not valid: nats\.servers\.0: expected nats:\/\/host:port\n$/);
    // The grid's NATS user and password come from a file (as `intergrid up` writes it), never the command line.
    const creds = generateNatsCredentials('intergrid-104');
    const credsPath = join(dir, 'nats-credentials.json');
    writeNatsCredentialsFile(credsPath, creds);
    const noServer = await runBuiltCli(['join', code, '--dir', gwDir, ...flags, '--nats-credentials', credsPath]);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toBe('intergrid: --nats-credentials needs --nats (the server they are for)\n');
    const badPath = join(dir, 'bad-credentials.json');
    writeFileSync(badPath, JSON.stringify({ user: 'intergrid-104', password: 'short' }));
    const badCreds = await runBuiltCli(['join', code, '--dir', gwDir, ...flags, '--nats', 'nats://nats-x:4222', '--nats-credentials', badPath]);
    expect(badCreds.code).toBe(2);
    expect(badCreds.stderr).toMatch(new RegExp(`^intergrid: NATS credentials file ${badPath}: password: `));
    expect(badCreds.stderr).not.toContain('short');
    expect(existsSync(gwDir)).toBe(false);

    const ok = await runBuiltCli(['join', code, '--dir', gwDir, ...flags, '--nats', 'nats://nats-x:4222', '--nats-credentials', credsPath, '--listen', '0.0.0.0:7555']);
    expect(ok.code, ok.stderr).toBe(0);
    const key = /\(key ([0-9a-f]{64})\)/.exec(ok.stdout)![1]!;
    expect(ok.stdout).toContain(`intergrid clearinghouse approve-gateway --area-code 104 --key ${key} > ${join(gwDir, 'approval.b64')}`);
    const raw = JSON.parse(readFileSync(join(gwDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({
      listen: '0.0.0.0:7555',
      areaCode: '104',
      certificateFiles: ['./certificate.b64', './approval.b64'],
      gridManager: { address: gm.address },
      clearinghouse: { address: 'ch.example:7300', publicKey: CH_KEY },
      priceCeilingUnitsPerGib: 5000,
      nats: { servers: ['nats://nats-x:4222'], credentials: creds },
    });
    expect(statSync(join(gwDir, 'config.json')).mode & 0o777).toBe(0o600);
    expect(ok.stdout).not.toContain(creds.password);
    // Valid but for the approval the clearinghouse operator has yet to write.
    expect(() => loadGatewayConfig(join(gwDir, 'config.json'))).toThrow(/certificateFiles.*approval\.b64.*no such file/);
  }, 90_000);

  it('contact point: a config its loader accepts; storage: --advertise; a flag of another role is refused', async () => {
    const cpDir = join(dir, 'contact-point');
    const cpCode = await invite('contact-point');
    const noKey = await runBuiltCli(['join', cpCode, '--dir', cpDir, '--clearinghouse', 'ch:7300']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe('intergrid: a contact-point invite needs --clearinghouse-key\n');
    const cp = await runBuiltCli(['join', cpCode, '--dir', cpDir, '--clearinghouse', 'ch:7300', '--clearinghouse-key', CH_KEY, '--advertise', 'cp.example:7600', '--name', 'cp-1']);
    expect(cp.code, cp.stderr).toBe(0);
    const cpConfig = loadContactPointConfig(join(cpDir, 'config.json'));
    expect(cpConfig).toMatchObject({ name: 'cp-1', listen: '0.0.0.0:7600', advertiseAddress: 'cp.example:7600', areaCode: '104', clearinghouse: { address: 'ch:7300', publicKey: CH_KEY } });

    const sDir = join(dir, 'storage');
    const sCode = await invite('storage');
    const wrong = await runBuiltCli(['join', sCode, '--dir', sDir, '--price-ceiling', '1']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('intergrid: --price-ceiling does not apply to a storage-server invite\n');
    const s = await runBuiltCli(['join', sCode, '--dir', sDir, '--advertise', 'storage-1.example:7400']);
    expect(s.code, s.stderr).toBe(0);
    const sConfig = loadStorageConfig(join(sDir, 'config.json'));
    expect(sConfig).toMatchObject({ listen: '0.0.0.0:7400', advertiseAddress: 'storage-1.example:7400' });
    expect(sConfig.name).toMatch(/^storage-[0-9a-f]{8}$/);
  }, 90_000);
});
