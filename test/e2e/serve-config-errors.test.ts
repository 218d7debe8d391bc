/**
 * `intergrid serve <service> --config FILE` start-up errors through the built
 * CLI, as an operator sees them: a typo'd field, a missing key file, a port
 * in use → exactly one stderr line naming the field / path / address and a
 * non-zero exit code, no stack trace (an invalid INTERGRID_LOG_LEVEL too); and
 * INTERGRID_* environment variables override config fields (docs/configuration.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, writeCertificateFile, writeKeyFile } from '../../libs/auth/index.js';
import { writeJsonAtomic } from '../../libs/config/index.js';
import { generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { runBuiltCli, serveBuilt, type CliResult } from './fixtures/built-cli.js';

let dir: string;
let busy: Server;
let busyAddress: string;
const configs: Record<string, Record<string, unknown>> = {};

/** Writes `service`'s good config with `patch` applied to `name` and returns its path. */
function variant(service: string, name: string, patch: Record<string, unknown>): string {
  const path = join(dir, service, name);
  writeJsonAtomic(path, { ...configs[service], ...patch });
  return path;
}

function serve(service: string, configPath: string, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return runBuiltCli(['serve', service, '--config', configPath], { env });
}

/** A free port on 127.0.0.1 (bound and released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function expectOneLine(res: CliResult, expected: string | RegExp): void {
  expect(res.code, res.stderr).not.toBe(0);
  expect(res.code).not.toBeNull();
  expect(res.stdout).toBe('');
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(expected);
  expect(res.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-serve-config-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyAddress = `127.0.0.1:${(busy.address() as { port: number }).port}`;

  // clearinghouse: made by `intergrid clearinghouse init`, as an operator does.
  const init = await runBuiltCli(['clearinghouse', 'init', '--dir', join(dir, 'clearinghouse'), '--listen', '127.0.0.1:0']);
  expect(init.code, init.stderr).toBe(0);
  const chConfig = init.stdout.trim().split('\n')[0]!;
  configs.clearinghouse = JSON.parse(readFileSync(chConfig, 'utf8')) as Record<string, unknown>;
  // Relative paths in the variants resolve against the same directory.
  configs.clearinghouse.keyFile = join(dir, 'clearinghouse', configs.clearinghouse.keyFile as string);
  configs.clearinghouse.dataDir = join(dir, 'clearinghouse', configs.clearinghouse.dataDir as string);

  // storage: a key and a certificate from a grid manager key (no grid manager needs to run).
  const gm = generateKeyPair();
  const key = generateKeyPair();
  const now = Date.now();
  writeKeyFile(join(dir, 'storage', 'key.json'), key);
  writeCertificateFile(
    join(dir, 'storage', 'certificate.b64'),
    issueCertificate(gm, { role: 'storage-server', subject: key.publicKey, grid: '101', notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} }),
  );
  configs.storage = {
    listen: '127.0.0.1:0',
    dataDir: './data',
    keyFile: './key.json',
    certificateFile: './certificate.b64',
    gridManager: { address: '127.0.0.1:1', publicKey: toHex(gm.publicKey) },
  };
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => busy?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(['storage', 'clearinghouse'])('intergrid serve %s', (service) => {
  it("a typo'd field: one line naming the file and the field, with the closest known name", async () => {
    const path = variant(service, 'typo.json', { dataDirr: './data' });
    expectOneLine(await serve(service, path), `intergrid: config ${path}: unknown field 'dataDirr' (did you mean 'dataDir'?)`);
  });

  it('a missing field: one line naming the file and the field', async () => {
    const path = variant(service, 'missing.json', { keyFile: undefined });
    expectOneLine(await serve(service, path), new RegExp(`^intergrid: config ${path}: keyFile: `));
  });

  it('a missing key file: one line naming the config field and the path', async () => {
    const path = variant(service, 'nokey.json', { keyFile: join(dir, service, 'no-such-key.json') });
    expectOneLine(await serve(service, path), `intergrid: config ${path}: keyFile: cannot read ${join(dir, service, 'no-such-key.json')} (no such file)`);
  });

  it('a port in use: one line "cannot listen on HOST:PORT: address already in use"', async () => {
    const path = variant(service, 'busy.json', { listen: busyAddress });
    expectOneLine(await serve(service, path), `intergrid: cannot listen on ${busyAddress}: address already in use`);
  });

  it('a bad value from the environment: one line naming the field and the variable', async () => {
    const path = variant(service, 'env-bad.json', {});
    expectOneLine(await serve(service, path, { INTERGRID_LISTEN: 'nowhere' }), new RegExp(`^intergrid: config ${path}: listen: .*\\(from environment variable INTERGRID_LISTEN\\)$`));
  });

  it('an invalid INTERGRID_LOG_LEVEL: one line naming the variable and the allowed levels, exit 2', async () => {
    const path = variant(service, 'log-level.json', {});
    const res = await serve(service, path, { INTERGRID_LOG_LEVEL: 'verbose' });
    expectOneLine(res, 'intergrid: environment variable INTERGRID_LOG_LEVEL="verbose" is not a log level: expected one of trace, debug, info, warn, error, fatal, silent');
    expect(res.code).toBe(2);
  });

  it('INTERGRID_LISTEN overrides the listen address of the file', async () => {
    const path = variant(service, 'env.json', {});
    const port = await freePort();
    const served = await serveBuilt(service, path, { env: { INTERGRID_LISTEN: `127.0.0.1:${port}` } });
    try {
      expect(served.address).toBe(`127.0.0.1:${port}`);
    } finally {
      await served.stop();
    }
  });
});
