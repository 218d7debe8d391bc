/**
 * Loading and validating JSON config files at the edge (STYLE.md §13): one
 * clear message naming the file and the field, never a stack trace. Relative
 * paths inside a config are resolved against the config file's directory.
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import type { DatabaseConfig } from '../db/index.js';
import { applyEnvOverrides, closestName, fieldNamesAt, type AppliedOverride } from './env-overrides.js';

/**
 * Formats zod issues as "field.path: message" lines. With `schema`, an unknown
 * field gets the closest known name ("did you mean …"); with `overrides`, a
 * field set from the environment says which variable set it.
 */
export function describeIssues(error: z.ZodError, opts: { schema?: z.ZodType; overrides?: readonly AppliedOverride[] } = {}): string {
  return error.issues
    .map((i) => {
      const path = i.path.length ? i.path.join('.') : '(root)';
      let line: string;
      if (i.code === 'unrecognized_keys') {
        const known = opts.schema ? fieldNamesAt(opts.schema, i.path) : [];
        const names = i.keys.map((k) => {
          // A name another variant of a union has (database.filename with client 'pg').
          if (known.includes(k)) return `'${k}' (a field of another kind of ${path}: remove it, or set the whole ${path} section)`;
          const guess = closestName(k, known);
          return guess ? `'${k}' (did you mean '${guess}'?)` : `'${k}'`;
        });
        const what = `unknown field${i.keys.length > 1 ? 's' : ''} ${names.join(', ')}`;
        line = i.path.length ? `${path}: ${what}` : what;
      } else {
        line = `${path}: ${i.message}`;
      }
      const from = opts.overrides?.find((o) => o.path.every((seg, n) => i.path[n] === seg));
      return from ? `${line} (from environment variable ${from.variable})` : line;
    })
    .join('; ');
}

/**
 * A JSON.parse failure as "line L, column C", without the snippet of the
 * text V8 puts in its message: configs and key files hold secret keys, and
 * the snippet would carry part of one into logs. (The SyntaxError is not
 * kept as the cause for the same reason.)
 */
export function jsonSyntaxProblem(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : '';
  let pos = Number(/at position (\d+)/.exec(message)?.[1] ?? NaN);
  if (!Number.isSafeInteger(pos)) {
    // "Unexpected token 'x', …"snippet"… is not valid JSON": find the first offending character ourselves.
    pos = firstSyntaxError(text);
  }
  if (pos < 0) return 'syntax error (the text is not shown: it may hold a secret)';
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `syntax error at line ${line}, column ${column} (the text is not shown: it may hold a secret)`;
}

/** Offset of the first character no JSON text can continue with (prefixes re-parsed), or -1 when not found. */
function firstSyntaxError(text: string): number {
  if (text.length > 64 * 1024) return -1; // quadratic: configs and key files are small
  for (let i = 1; i <= text.length; i++) {
    try {
      JSON.parse(text.slice(0, i));
    } catch (e) {
      const m = e instanceof Error ? e.message : '';
      const at = Number(/at position (\d+)/.exec(m)?.[1] ?? NaN);
      // A failure at the end of the prefix only says the text is unfinished there.
      if (/end of JSON/i.test(m) || at >= i) continue;
      return Number.isSafeInteger(at) ? at : i - 1;
    }
  }
  return -1;
}

/**
 * Reads `path` as JSON and validates it with `schema`. With `env` (the
 * services pass process.env), `INTERGRID_*` variables naming a field of the
 * schema override it before validation (env-overrides.ts, docs/configuration.md).
 * @throws ConfigError naming the file and the offending field(s).
 */
export function loadJsonConfig<S extends z.ZodType>(path: string, schema: S, opts: { env?: NodeJS.ProcessEnv } = {}): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config ${path} is not valid JSON: ${jsonSyntaxProblem(e, text)}`);
  }
  const overrides = opts.env && raw && typeof raw === 'object' && !Array.isArray(raw) ? applyEnvOverrides(raw as Record<string, unknown>, schema, opts.env) : [];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config ${path}: ${describeIssues(parsed.error, { schema, overrides })}`);
  return parsed.data;
}

/**
 * Checks that the files a service reads at start (its key, its certificates)
 * are there and readable, so a wrong path is reported with the config field
 * that holds it rather than as a bare file error later.
 * @param fields config field name → the resolved path(s) it holds
 * @throws ConfigError "config FILE: FIELD: cannot read PATH (ENOENT)"
 */
export function requireReadableFiles(configPath: string, fields: Record<string, string | readonly string[]>): void {
  for (const [field, value] of Object.entries(fields)) {
    const paths = typeof value === 'string' ? [value] : value;
    paths.forEach((p, n) => {
      try {
        accessSync(p, fsConstants.R_OK);
      } catch (e) {
        const name = typeof value === 'string' ? field : `${field}.${n}`;
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message);
        throw new ConfigError(`config ${configPath}: ${name}: cannot read ${p} (${why})`, { cause: e });
      }
    });
  }
}

/**
 * The JSON object in `path`, or undefined when there is no such file (or it
 * holds something else than an object): for init steps that keep what an
 * operator already wrote. @throws ConfigError when the file is not JSON.
 */
export function readJsonObjectIfPresent(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch (e) {
    throw new ConfigError(`config ${path} is not valid JSON: ${jsonSyntaxProblem(e, text)}`);
  }
}

/** Resolves `p` against the directory of `configPath` unless it is absolute. */
export function resolveFrom(configPath: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(configPath), p);
}

/** Writes JSON atomically (temp file + fsync + rename), creating the directory. */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}

/**
 * Writes `text` atomically: a reader sees the old file or the whole new one,
 * never a part. The file is fsynced before the rename and its directory
 * after it: without the second fsync a crash can forget the rename (the new
 * name points at nothing, or the old file comes back) although the data was
 * on disk.
 */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  fsyncPathSync(tmp);
  renameSync(tmp, path);
  fsyncPathSync(dirname(path));
}

/** fsyncs a file or directory by path (a directory: so entries created or renamed in it survive a crash). */
export function fsyncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Common schema pieces. */
export const listenAddress = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port (port 0 = any free port)');
/** Optional `metrics` block of every service config: where to serve Prometheus text (GET /metrics). */
export const metricsSchema = z
  .object({
    /** host:port of the HTTP metrics endpoint; port 0 picks a free port. */
    listen: listenAddress,
  })
  .strict();
export const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (32-byte public key)');
/**
 * The database a service uses: the configured one (a relative SQLite path
 * resolved with `abs`), or by default the SQLite file `defaultFile` in `dataDir`.
 */
export function resolveDatabase(
  configured: z.infer<typeof databaseSchema> | undefined,
  dataDir: string,
  defaultFile: string,
  abs: (p: string) => string,
): DatabaseConfig {
  if (!configured) return { client: 'sqlite3', filename: join(dataDir, defaultFile) };
  if (configured.client === 'sqlite3') return { client: 'sqlite3', filename: abs(configured.filename) };
  return configured;
}

export const databaseSchema = z.discriminatedUnion('client', [
  z.object({ client: z.literal('sqlite3'), filename: z.string().min(1) }).strict(),
  z.object({ client: z.literal('pg'), connection: z.string().min(1), searchPath: z.string().optional() }).strict(),
]);
