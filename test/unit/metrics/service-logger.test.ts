/**
 * serviceLogger (libs/metrics/logger.ts): the level comes from
 * INTERGRID_LOG_LEVEL (default info), an invalid value is a ConfigError naming
 * the variable and the allowed levels, and a real service given such a logger
 * writes its per-call "rpc" lines at info but not at warn.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../libs/errors/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { LOG_LEVELS, logLevelFromEnv, serviceLogger } from '../../../libs/metrics/index.js';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, type RunningClearinghouse } from '../../../services/clearinghouse/index.js';

/** A pino destination collecting the parsed JSON lines. */
function sink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

describe('logLevelFromEnv', () => {
  it('is info when INTERGRID_LOG_LEVEL is unset or empty', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ INTERGRID_LOG_LEVEL: '' })).toBe('info');
  });

  it('takes every pino level, ignoring case and surrounding blanks', () => {
    for (const level of LOG_LEVELS) expect(logLevelFromEnv({ INTERGRID_LOG_LEVEL: level })).toBe(level);
    expect(logLevelFromEnv({ INTERGRID_LOG_LEVEL: ' WARN ' })).toBe('warn');
  });

  it('refuses anything else with a ConfigError naming the variable, the value and the allowed levels', () => {
    for (const bad of ['verbose', '30', 'info,warn']) {
      let err: unknown;
      try {
        logLevelFromEnv({ INTERGRID_LOG_LEVEL: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(`environment variable INTERGRID_LOG_LEVEL=${JSON.stringify(bad)} is not a log level: expected one of trace, debug, info, warn, error, fatal, silent`);
    }
    expect(() => serviceLogger('storage', { env: { INTERGRID_LOG_LEVEL: 'loud' } })).toThrow(ConfigError);
  });
});

describe('serviceLogger', () => {
  it('names every line and drops lines below the level', () => {
    const atInfo = sink();
    const info = serviceLogger('gateway', { env: {}, destination: atInfo.stream });
    info.debug('hidden');
    info.info('shown');
    expect(atInfo.lines.map((l) => [l['name'], l['msg']])).toEqual([['gateway', 'shown']]);

    const atWarn = sink();
    const warn = serviceLogger('storage', { env: { INTERGRID_LOG_LEVEL: 'warn' }, destination: atWarn.stream });
    warn.info('hidden');
    warn.warn('shown');
    expect(atWarn.lines.map((l) => [l['name'], l['msg']])).toEqual([['storage', 'shown']]);
  });

  let dir: string | undefined;
  let ch: RunningClearinghouse | undefined;
  let conn: ClearinghouseConnection | undefined;
  afterEach(async () => {
    conn?.close();
    await ch?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = ch = conn = undefined;
  });

  it.each([
    ['info', 1],
    ['warn', 0],
  ])('a real clearinghouse at INTERGRID_LOG_LEVEL=%s writes %i rpc line(s) for one call', async (level, expected) => {
    dir = mkdtempSync(join(tmpdir(), 'service-logger-'));
    const { configPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, verifyWorkers: 0 }));
    const out = sink();
    ch = await startClearinghouse(loadClearinghouseConfig(configPath), {
      onInternal: () => undefined,
      logger: serviceLogger('clearinghouse', { env: { INTERGRID_LOG_LEVEL: level }, destination: out.stream }),
    });
    const admin = loadClearinghouseAdmin(join(dir, 'admin.json'));
    conn = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: ch.publicKey });
    expect(await conn.listGrids()).toEqual([]);
    // stop() drains the server, so the call's line (written when its status is sent) is in by now.
    await ch.stop();
    ch = undefined;
    const rpc = out.lines.filter((l) => l['msg'] === 'rpc');
    expect(rpc).toHaveLength(expected);
    if (expected) expect(rpc[0]).toMatchObject({ name: 'clearinghouse', method: 'Clearinghouse/ListGrids', status: 'OK' });
  });
});
