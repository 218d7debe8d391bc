/**
 * The crash tests' ack delay is read from the environment by the config
 * loader (the entry point), never by the handlers (STYLE.md §13).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClearinghouseConfig, resolveClearinghouseConfig } from '../../../services/clearinghouse/index.js';

const dir = mkdtempSync(join(tmpdir(), 'intergrid-ch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'key.json'), '');
const base = { listen: '127.0.0.1:0', dataDir: './data', keyFile: './key.json' };
const path = join(dir, 'config.json');
writeFileSync(path, JSON.stringify(base));

describe('clearinghouse config: INTERGRID_TEST_ACK_DELAY_MS', () => {
  afterEach(() => {
    delete process.env.INTERGRID_TEST_ACK_DELAY_MS;
  });

  it('is absent without the variable', () => {
    expect(loadClearinghouseConfig(path)).not.toHaveProperty('testAckDelayMs');
  });

  it('sets testAckDelayMs from the variable', () => {
    process.env.INTERGRID_TEST_ACK_DELAY_MS = '150';
    expect(loadClearinghouseConfig(path).testAckDelayMs).toBe(150);
  });

  it.each(['0', '-5', 'abc', '1.5', '10001'])('ignores %j, as before (no delay, no error)', (v) => {
    process.env.INTERGRID_TEST_ACK_DELAY_MS = v;
    expect(loadClearinghouseConfig(path)).not.toHaveProperty('testAckDelayMs');
  });

  it('is not a config field (an in-memory config never has it)', () => {
    process.env.INTERGRID_TEST_ACK_DELAY_MS = '150';
    expect(resolveClearinghouseConfig(base)).not.toHaveProperty('testAckDelayMs');
  });

  it('keeps maxClockSkewMs at 60 s by default', () => {
    expect(loadClearinghouseConfig(path).maxClockSkewMs).toBe(60_000);
  });
});
