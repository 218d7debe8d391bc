/**
 * The README's first command after `npm ci` is `npm run demo`: a whole
 * federation on loopback, a long-distance fetch and its bill. This runs the
 * built `intergrid demo` (what the npm script runs after its build) and
 * checks what the README promises it shows.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '../../dist/services/cli/main.js');

describe('intergrid demo', () => {
  it('fetches a file long distance, byte for byte, and settles its bill to a zero sum', async () => {
    const child = spawn(process.execPath, [CLI, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(0);
    const sums = [...out.matchAll(/sha256 (?:uploaded|fetched) .*?([0-9a-f]{64})/g)].map((m) => m[1]);
    expect(sums).toHaveLength(2);
    expect(sums[0]).toBe(sums[1]);
    expect(out).toMatch(/identical\./);
    const posted = /→ (\d+) units/.exec(out);
    expect(Number(posted?.[1])).toBeGreaterThan(0);
    expect(out).toMatch(new RegExp(`owes grid a \\(area 101\\) ${posted?.[1]} units`));
    expect(out).toMatch(/→ sum 0/);
    expect(out).toMatch(/stopped every service\./);
  }, 240_000);
});
