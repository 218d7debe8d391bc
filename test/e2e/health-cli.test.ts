/**
 * `intergrid health HOST:PORT` through the built CLI: a real grid manager
 * started with `intergrid serve grid-manager` answers SERVING (exit 0, one
 * stdout line), for '' and for its service name; an unknown service name, a
 * server reporting NOT_SERVING (a real operable gRPC server, as while it
 * starts or drains) and a stopped server are one stderr line and exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initGridManager } from '../../services/grid-manager/index.js';
import { bindServer, operableServer, setServing, stopServer, type StartedServer } from '../../libs/rpc/index.js';
import { generateKeyPair } from '../../libs/crypto/index.js';
import { echoService } from '../fixtures/echo-service.js';
import { runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

let dir: string;
let gm: ServedProcess | undefined;
let echo: StartedServer | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-health-'));
  const init = initGridManager(join(dir, 'gm'), { areaCode: '101', listen: '127.0.0.1:0' });
  gm = await serveBuilt('grid-manager', init.configPath);
  // A server with nothing but the operations services and Echo's definition: its health is set by hand below.
  const server = operableServer(echoService().service);
  echo = await bindServer(server, '127.0.0.1:0', generateKeyPair());
}, 30_000);

afterAll(async () => {
  await gm?.stop();
  if (echo) await stopServer(echo.server, 0).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('intergrid health', () => {
  it('SERVING from a served grid manager: exit 0, one line', async () => {
    const res = await runBuiltCli(['health', gm!.address]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(`${gm!.address} SERVING\n`);
    const named = await runBuiltCli(['health', gm!.address, '--service', 'intergrid.gridmanager.GridManager']);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toBe(`${gm!.address} intergrid.gridmanager.GridManager SERVING\n`);
  }, 30_000);

  it('an unknown service name: exit 1, one line', async () => {
    const res = await runBuiltCli(['health', gm!.address, '--service', 'no.such.Service']);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`intergrid: ${gm!.address} reports no health for service 'no.such.Service'\n`);
  }, 30_000);

  it('NOT_SERVING: exit 1 naming the status; SERVING again: exit 0', async () => {
    setServing(echo!.server, false);
    const down = await runBuiltCli(['health', echo!.address]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`intergrid: ${echo!.address} is NOT_SERVING\n`);
    setServing(echo!.server, true);
    const up = await runBuiltCli(['health', echo!.address]);
    expect(up.code, up.stderr).toBe(0);
  }, 30_000);

  it('a stopped service: exit 1, one line naming the address', async () => {
    await gm!.stop();
    const res = await runBuiltCli(['health', gm!.address, '--timeout', '2000']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(new RegExp(`^intergrid: ${gm!.address.replace(/\./g, '\\.')}: (UNAVAILABLE|no answer)`));
  }, 30_000);

  it('bad usage: exit 2', async () => {
    const res = await runBuiltCli(['health', 'nohostport']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("intergrid: 'nohostport' is not host:port\n");
    const t = await runBuiltCli(['health', '127.0.0.1:1', '--timeout', 'soon']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--timeout 'soon'/);
  }, 30_000);
});
