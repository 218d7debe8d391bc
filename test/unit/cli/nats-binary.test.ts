import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer, requireNatsServer, NATS_SERVER_MISSING } from '../../../services/cli/launcher/nats-binary.js';
import { PreconditionError } from '../../../libs/errors/index.js';

describe('nats-server lookup (intergrid up / demo)', () => {
  it('finds an executable nats-server on PATH first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nats-bin-'));
    try {
      const bin = join(dir, 'nats-server');
      writeFileSync(bin, '#!/bin/sh\n');
      chmodSync(bin, 0o755);
      expect(findNatsServer(dir)).toBe(bin);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with exactly one line saying how to install it', () => {
    const err = (() => {
      try {
        requireNatsServer({ install: false, find: () => undefined });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PreconditionError);
    expect((err as Error).message).toBe("nats-server not found: install it with 'sudo apt-get install nats-server' (Debian/Ubuntu)");
    expect(NATS_SERVER_MISSING).not.toContain('\n');
  });

  it('returns the path when it is installed', () => {
    expect(requireNatsServer({ install: false, find: () => '/usr/sbin/nats-server' })).toBe('/usr/sbin/nats-server');
  });
});
