/**
 * The README's commands start with `npx intergrid`: the package's bin must
 * be executable after `npm run build` (tsc writes it 0644), or every such
 * command fails with "Permission denied" on a fresh clone.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

describe('npx intergrid', () => {
  it('runs the built CLI as the README writes it', () => {
    expect(() => accessSync(join(ROOT, 'dist/services/cli/main.js'), constants.X_OK)).not.toThrow();
    const r = spawnSync('npx', ['intergrid', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/Permission denied/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: intergrid/);
  }, 90_000);
});
