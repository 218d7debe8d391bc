/**
 * Environment variables that override config fields (docs/configuration.md):
 * `INTERGRID_<FIELD>` for a top-level field, `INTERGRID_<SECTION>__<FIELD>`
 * for a field of a nested object (`INTERGRID_DATABASE__CLIENT=pg`). Field
 * names are matched ignoring case and single underscores, so `dataDir` is
 * `INTERGRID_DATA_DIR` (or `INTERGRID_DATADIR`). The value is parsed as JSON
 * when it parses (numbers, booleans, arrays, objects), else taken as a
 * string. Only variables naming a field of the schema are applied: a machine
 * may run several services, each with its own fields, so the others are
 * ignored.
 */
import type { z } from 'zod';

export const ENV_PREFIX = 'INTERGRID_';

/** One override applied: the variable and the config field path it set. */
export interface AppliedOverride {
  variable: string;
  path: string[];
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/**
 * The field names (and their schemas) of an object schema, looking through
 * optional/default/pipe wrappers and unions of objects; empty for anything else.
 */
export function fieldsOf(schema: z.ZodType | undefined, depth = 0): Map<string, z.ZodType[]> {
  const out = new Map<string, z.ZodType[]>();
  if (!schema || depth > 10) return out;
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape ?? {})) out.set(k, [v]);
      return out;
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return fieldsOf(def.innerType, depth + 1);
    case 'pipe':
      return fieldsOf(def.in, depth + 1);
    case 'union':
      for (const o of def.options ?? []) {
        for (const [k, v] of fieldsOf(o, depth + 1)) out.set(k, [...(out.get(k) ?? []), ...v]);
      }
      return out;
    default:
      return out;
  }
}

/** The field names of the object schema at `path` inside `schema` (for "did you mean"). */
export function fieldNamesAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType[] = [schema];
  for (const seg of path) {
    if (typeof seg !== 'string') return [];
    current = current.flatMap((s) => fieldsOf(s).get(seg) ?? []);
    if (!current.length) return [];
  }
  return [...new Set(current.flatMap((s) => [...fieldsOf(s).keys()]))];
}

const norm = (s: string): string => s.replace(/_/g, '').toLowerCase();

/** An env value: JSON when it parses, else the string itself. */
export function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * Applies the `INTERGRID_*` variables of `env` that name a field of `schema`
 * to `raw` (in place), before validation.
 * @returns the overrides applied, for error messages.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, schema: z.ZodType, env: NodeJS.ProcessEnv): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (value === undefined || !variable.startsWith(ENV_PREFIX)) continue;
    const segments = variable.slice(ENV_PREFIX.length).split('__');
    if (segments.some((s) => !s)) continue;
    const path = resolvePath(schema, segments);
    if (!path) continue;
    let target = raw;
    for (const seg of path.slice(0, -1)) {
      const next = target[seg];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) target[seg] = {};
      target = target[seg] as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = parseEnvValue(value);
    applied.push({ variable, path });
  }
  return applied;
}

/** The field path named by the variable's segments, or undefined when it names no field of the schema. */
function resolvePath(schema: z.ZodType, segments: string[]): string[] | undefined {
  let current: z.ZodType[] = [schema];
  const path: string[] = [];
  for (const seg of segments) {
    const fields = new Map<string, z.ZodType[]>();
    for (const s of current) for (const [k, v] of fieldsOf(s)) fields.set(k, [...(fields.get(k) ?? []), ...v]);
    const key = [...fields.keys()].find((k) => norm(k) === norm(seg));
    if (key === undefined) return undefined;
    path.push(key);
    current = fields.get(key)!;
  }
  return path;
}

/** Levenshtein distance (small strings only: field names). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name` when it is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = norm(k) === norm(name) ? 0 : distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
