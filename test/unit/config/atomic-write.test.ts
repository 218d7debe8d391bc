/**
 * writeFileAtomic (issue 11 item 10): the temp file is fsynced, renamed, and
 * then its directory is fsynced, so the rename itself survives a crash. The
 * real node:fs does the work; the spies only record which paths were opened
 * and fsynced, in order.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const events: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fdPaths = new Map<number, string>();
  return {
    ...real,
    openSync: (path: string, ...rest: unknown[]) => {
      const fd = (real.openSync as (...a: unknown[]) => number)(path, ...rest);
      fdPaths.set(fd, String(path));
      return fd;
    },
    fsyncSync: (fd: number) => {
      events.push(`fsync ${fdPaths.get(fd) ?? '?'}`);
      real.fsyncSync(fd);
    },
    renameSync: (from: string, to: string) => {
      events.push(`rename ${String(to)}`);
      real.renameSync(from, to);
    },
  };
});

const { writeFileAtomic } = await import('../../../libs/config/index.js');

describe('writeFileAtomic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-atomic-'));
  afterEach(() => {
    events.length = 0;
  });

  it('fsyncs the temp file, renames it, then fsyncs the directory', () => {
    const sub = join(dir, 'nested');
    const path = join(sub, 'client.json');
    writeFileAtomic(path, '{"a":1}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(readdirSync(sub)).toEqual(['client.json']);
    const tmp = events[0]!;
    expect(tmp).toMatch(/^fsync .*client\.json\.tmp-\d+$/);
    expect(events.slice(1)).toEqual([`rename ${path}`, `fsync ${sub}`]);
    rmSync(dir, { recursive: true, force: true });
  });
});
