/**
 * libs/rpc/proto-types.ts is the one import for generated proto types: it
 * must list every file `npm run gen` writes under generated/intergrid (a new
 * message would otherwise tempt a deep import), and nothing outside libs/rpc
 * imports generated files directly.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const RPC = join(import.meta.dirname, '../../../libs/rpc');
const ROOT = join(RPC, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'generated' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function generatedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? generatedFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('proto-types barrel', () => {
  it('lists every generated message and service file', () => {
    const barrel = readFileSync(join(RPC, 'proto-types.ts'), 'utf8');
    const listed = new Set([...barrel.matchAll(/export type \* from '\.\/(generated\/intergrid\/[^']+)\.js';/g)].map((m) => m[1]));
    const generated = generatedFiles(join(RPC, 'generated/intergrid')).map((f) => relative(RPC, f).replace(/\.ts$/, ''));
    expect(generated.length).toBeGreaterThan(50);
    expect(generated.filter((g) => !listed.has(g))).toEqual([]);
    expect([...listed].filter((l) => !generated.includes(l!))).toEqual([]);
  });

  it('is the only way outside libs/rpc to reach generated message types', () => {
    const deep = ['libs', 'services', 'test']
      .flatMap((d) => tsFiles(join(ROOT, d)))
      .filter((f) => !f.startsWith(RPC))
      .filter((f) => /from '[^']*rpc\/generated\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(deep).toEqual([]);
  });
});
