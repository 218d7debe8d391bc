/** INTERGRID_* environment overrides of config fields (libs/config/env-overrides.ts). */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyEnvOverrides, closestName, describeIssues, fieldNamesAt, parseEnvValue, databaseSchema } from '../../../libs/config/index.js';

const schema = z
  .object({
    listen: z.string(),
    dataDir: z.string(),
    maxBytes: z.number().default(5),
    verbose: z.boolean().optional(),
    peers: z.array(z.string()).default([]),
    database: databaseSchema.optional(),
    gridManager: z.object({ address: z.string(), publicKey: z.string() }).strict(),
  })
  .strict();

describe('parseEnvValue', () => {
  it('parses JSON when it parses, else keeps the string', () => {
    expect(parseEnvValue('42')).toBe(42);
    expect(parseEnvValue('true')).toBe(true);
    expect(parseEnvValue('["a","b"]')).toEqual(['a', 'b']);
    expect(parseEnvValue('{"client":"pg"}')).toEqual({ client: 'pg' });
    expect(parseEnvValue('"7"')).toBe('7');
    expect(parseEnvValue('0.0.0.0:7000')).toBe('0.0.0.0:7000');
    expect(parseEnvValue('pg')).toBe('pg');
    expect(parseEnvValue('')).toBe('');
  });
});

describe('applyEnvOverrides', () => {
  it('sets top-level and nested fields, matching UPPER_SNAKE to camelCase', () => {
    const raw: Record<string, unknown> = { listen: '127.0.0.1:0', dataDir: 'd', gridManager: { address: 'a:1', publicKey: 'k' } };
    const applied = applyEnvOverrides(raw, schema, {
      INTERGRID_LISTEN: '0.0.0.0:7000',
      INTERGRID_DATA_DIR: '/var/lib/x',
      INTERGRID_MAX_BYTES: '10',
      INTERGRID_VERBOSE: 'true',
      INTERGRID_PEERS: '["p:1","p:2"]',
      INTERGRID_GRID_MANAGER__ADDRESS: 'gm:7001',
      INTERGRID_DATABASE__CLIENT: 'pg',
      INTERGRID_DATABASE__CONNECTION: 'postgres://x',
    });
    expect(raw).toEqual({
      listen: '0.0.0.0:7000',
      dataDir: '/var/lib/x',
      maxBytes: 10,
      verbose: true,
      peers: ['p:1', 'p:2'],
      gridManager: { address: 'gm:7001', publicKey: 'k' },
      database: { client: 'pg', connection: 'postgres://x' },
    });
    expect(applied.map((a) => a.variable)).toContain('INTERGRID_GRID_MANAGER__ADDRESS');
    expect(applied.find((a) => a.variable === 'INTERGRID_DATA_DIR')?.path).toEqual(['dataDir']);
    expect(schema.safeParse(raw).success).toBe(true);
  });

  it('ignores variables that name no field of the schema, and other variables', () => {
    const raw: Record<string, unknown> = { listen: 'x:1' };
    const applied = applyEnvOverrides(raw, schema, {
      INTERGRID_DEBUG: '1',
      INTERGRID_GRID_MANAGER__NOPE: 'x',
      INTERGRID_LISTEN__PORT: '3',
      INTERGRID_: 'x',
      INTERGRID___LISTEN: 'x',
      LISTEN: 'y:2',
      PATH: '/bin',
    });
    expect(applied).toEqual([]);
    expect(raw).toEqual({ listen: 'x:1' });
  });

  it('a whole section can be given as JSON', () => {
    const raw: Record<string, unknown> = {};
    applyEnvOverrides(raw, schema, { INTERGRID_DATABASE: '{"client":"sqlite3","filename":"a.sqlite"}' });
    expect(raw.database).toEqual({ client: 'sqlite3', filename: 'a.sqlite' });
  });
});

describe('describeIssues', () => {
  it('suggests the closest known field and names the variable a bad value came from', () => {
    const raw: Record<string, unknown> = { listen: 'x:1', dataDir: 'd', gridManager: { address: 'a', publicKey: 'k', adress: 'b' }, lisen: 'y' };
    const overrides = applyEnvOverrides(raw, schema, { INTERGRID_MAX_BYTES: 'lots' });
    const r = schema.safeParse(raw);
    expect(r.success).toBe(false);
    const text = describeIssues(r.error!, { schema, overrides });
    expect(text).toContain("maxBytes: Invalid input: expected number, received string (from environment variable INTERGRID_MAX_BYTES)");
    expect(text).toContain("unknown field 'lisen' (did you mean 'listen'?)");
    expect(text).toContain("gridManager: unknown field 'adress' (did you mean 'address'?)");
  });

  it("names a field that belongs to another variant of a union instead of suggesting the same name", () => {
    const raw: Record<string, unknown> = { listen: 'x:1', dataDir: 'd', gridManager: { address: 'a', publicKey: 'k' }, database: { client: 'sqlite3', filename: 'x.sqlite' } };
    const overrides = applyEnvOverrides(raw, schema, { INTERGRID_DATABASE__CLIENT: 'pg', INTERGRID_DATABASE__CONNECTION: 'postgres://h/db' });
    const r = schema.safeParse(raw);
    expect(r.success).toBe(false);
    const text = describeIssues(r.error!, { schema, overrides });
    expect(text).toContain("database: unknown field 'filename' (a field of another kind of database: remove it, or set the whole database section)");
    expect(text).not.toContain('did you mean');
  });

  it('closestName only suggests near misses', () => {
    expect(closestName('leaseDuratonMs', ['leaseDurationMs', 'listen'])).toBe('leaseDurationMs');
    expect(closestName('data_dir', ['dataDir'])).toBe('dataDir');
    expect(closestName('completelyDifferent', ['listen', 'dataDir'])).toBeUndefined();
  });

  it('fieldNamesAt looks through optional sections and unions', () => {
    expect(fieldNamesAt(schema, ['gridManager']).sort()).toEqual(['address', 'publicKey']);
    expect(fieldNamesAt(schema, ['database']).sort()).toEqual(['client', 'connection', 'filename', 'searchPath']);
    expect(fieldNamesAt(schema, ['nope'])).toEqual([]);
  });
});
