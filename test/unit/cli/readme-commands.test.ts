/**
 * The README walk-through runner (test/e2e/fixtures/readme-commands.ts):
 * which lines it takes from which section, the substitutions, and the bash
 * script it builds — run here with real bash: a failing line stops the
 * script with its status and output, variables carry over between lines,
 * background lines report their pid.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bashScript,
  fixedPorts,
  isBackground,
  LINE_FAILED_EXIT,
  markdownSection,
  outputOf,
  shBlockCommands,
  substituteLine,
  transcriptSteps,
  walkthrough,
} from '../../e2e/fixtures/readme-commands.js';

const README = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');

const SAMPLE = [
  '# T',
  '## One',
  '```sh',
  'npx intergrid up --dir /tmp/g   # long-running',
  '```',
  'Prose `npx intergrid status --admin X` inline.',
  '```',
  'not sh',
  '```',
  '### Sub',
  '```sh',
  '# only a comment',
  '',
  'CAP=$(npx intergrid put /tmp/big \\',
  '  --config /tmp/g/a/client.json)',
  'npx intergrid web --listen 127.0.0.1:8080 &   # background',
  'curl -s http://127.0.0.1:8080/ && echo ok',
  'npx intergrid up --dir /tmp/s --share-backend s3',
  '```',
  '## Two',
  '```sh',
  'echo other section',
  '```',
].join('\n');

describe('README walk-through: parsing', () => {
  it('a section runs to the next "## " heading (a "### " one stays inside); only ```sh blocks count', () => {
    const section = markdownSection(SAMPLE, 'One');
    expect(section).toContain('### Sub');
    expect(section).not.toContain('other section');
    expect(shBlockCommands(section)).toEqual([
      ['npx intergrid up --dir /tmp/g   # long-running'],
      ['CAP=$(npx intergrid put /tmp/big    --config /tmp/g/a/client.json)', 'npx intergrid web --listen 127.0.0.1:8080 &   # background', 'curl -s http://127.0.0.1:8080/ && echo ok', 'npx intergrid up --dir /tmp/s --share-backend s3'],
    ]);
    expect(() => markdownSection(SAMPLE, 'Three')).toThrow(/no "## Three" heading/);
    expect(() => shBlockCommands('```sh\necho x\n')).toThrow(/unterminated/);
  });

  it('the up line apart; the S3 backend left to up-s3.test.ts', () => {
    const w = walkthrough(SAMPLE, 'One');
    expect(w.up).toBe('npx intergrid up --dir /tmp/g   # long-running');
    expect(w.lines).toEqual(['CAP=$(npx intergrid put /tmp/big    --config /tmp/g/a/client.json)', 'npx intergrid web --listen 127.0.0.1:8080 &   # background', 'curl -s http://127.0.0.1:8080/ && echo ok']);
    expect(() => walkthrough(SAMPLE, 'Two')).toThrow(/expected one "npx intergrid up" line/);
  });

  it('substitutes /tmp paths, the file size and every fixed port (the same port everywhere)', () => {
    const w = walkthrough(SAMPLE, 'One');
    expect(fixedPorts(w.lines)).toEqual([8080]);
    const subs = { tmpDir: '/tmp/run-1', fileSize: '4M', ports: new Map([[8080, 40123]]) };
    expect(w.lines.map((l) => substituteLine(l, subs))).toEqual([
      'CAP=$(npx intergrid put /tmp/run-1/big    --config /tmp/run-1/g/a/client.json)',
      'npx intergrid web --listen 127.0.0.1:40123 &   # background',
      'curl -s http://127.0.0.1:40123/ && echo ok',
    ]);
    expect(substituteLine('head -c 100M /dev/urandom > /tmp/big', subs)).toBe('head -c 4M /dev/urandom > /tmp/run-1/big');
    expect(substituteLine('cmp /tmp/big "/tmp/big.out" && X=/tmp/x', subs)).toBe('cmp /tmp/run-1/big "/tmp/run-1/big.out" && X=/tmp/run-1/x');
    // Not a /tmp path: left alone.
    expect(substituteLine('echo /var/tmp/x tmp/y', subs)).toBe('echo /var/tmp/x tmp/y');
    // Port 0 is no fixed port; a fixed port nobody replaced is refused.
    expect(fixedPorts(['--listen 127.0.0.1:0'])).toEqual([]);
    expect(() => substituteLine('curl http://localhost:9090/', subs)).toThrow(/no free port given for localhost:9090/);
    expect(isBackground('npx intergrid web --listen 127.0.0.1:1 &')).toBe(true);
    expect(isBackground('sleep 1 &   # comment')).toBe(true);
    expect(isBackground('a && b')).toBe(false);
    expect(isBackground('cmd > /dev/null 2>&1')).toBe(false);
  });

  it("the README's own walk-through: up apart, the rest runnable as written (no placeholder address), status and usage included", () => {
    const w = walkthrough(README, 'A federation on this machine');
    expect(w.up).toMatch(/^npx intergrid up --dir \/tmp\/g\s/);
    expect(w.lines.length).toBeGreaterThanOrEqual(10);
    for (const l of w.lines) expect(l, l).not.toMatch(/\bADDR\b|HOST:PORT|--grid-manager|--address|--clearinghouse /);
    expect(w.lines.some((l) => /^npx intergrid status --admin \S+\/a\/grid-manager\/admin\.json/.test(l))).toBe(true);
    expect(w.lines.some((l) => /^npx intergrid grid usage --admin/.test(l))).toBe(true);
    expect(w.lines.some((l) => /^npx intergrid grid statements --admin/.test(l))).toBe(true);
    expect(w.lines.some((l) => /share-backend|docker-compose|npm ci/.test(l))).toBe(false);
  });
});

function runScript(lines: string[]): { status: number | null; transcript: string } {
  const r = spawnSync('bash', ['-c', bashScript(lines)], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, transcript: r.stdout + r.stderr };
}

describe('README walk-through: the bash script', () => {
  it('runs the lines in one process: variables carry over; every output is cut at its line; assigned variables at the end', () => {
    const r = runScript(['X=$(printf hi)', 'echo "$X there"   # a comment', 'echo to-stderr >&2', 'cmp /dev/null /dev/null && echo identical']);
    expect(r.status, r.transcript).toBe(0);
    const steps = transcriptSteps(r.transcript);
    expect(steps.map((s) => s.command)).toEqual(['X=$(printf hi)', 'echo "$X there"   # a comment', 'echo to-stderr >&2', 'cmp /dev/null /dev/null && echo identical']);
    expect(outputOf(steps, /^echo "\$X/).trim()).toBe('hi there');
    expect(outputOf(steps, /stderr/).trim()).toBe('to-stderr');
    expect(outputOf(steps, /^cmp/)).toMatch(/^identical\n/m);
    expect(r.transcript).toMatch(/^readme-var X=hi$/m);
  });

  it('a failing line — also the first part of an && list — stops the script with its status and the line; later lines do not run', () => {
    const r = runScript(['echo first', 'false && echo never-printed', 'echo never-run']);
    expect(r.status).toBe(LINE_FAILED_EXIT);
    expect(r.transcript).toContain('readme-commands: exit 1 from: false && echo never-printed');
    expect(r.transcript.split('\n')).not.toContain('never-printed');
    expect(r.transcript).not.toContain('never-run');
    expect(transcriptSteps(r.transcript).map((s) => s.command)).toEqual(['echo first', 'false && echo never-printed']);
    const sub = runScript(['X=$(exit 3)', 'echo after']);
    expect(sub.status).toBe(LINE_FAILED_EXIT);
    expect(sub.transcript).toContain('readme-commands: exit 3 from: X=$(exit 3)');
  });

  it('a background line reports its pid and the script goes on', () => {
    const r = runScript(['sleep 0.2 &', 'echo next']);
    expect(r.status, r.transcript).toBe(0);
    expect(r.transcript).toMatch(/^readme-bg [1-9][0-9]*$/m);
    expect(outputOf(transcriptSteps(r.transcript), /^echo next/)).toContain('next');
  });
});
