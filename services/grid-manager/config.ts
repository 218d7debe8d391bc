/**
 * Grid manager configuration: a JSON file validated with zod at the edge
 * (STYLE.md §13). Relative paths are resolved against the config file's
 * directory, so a grid directory can be moved as a whole.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_HAPPY } from '../../libs/format/index.js';
import { maxClockSkewSchema, maxNoncesPerCallerSchema } from '../../libs/auth/index.js';
import { areaCodeSchema } from '../../libs/caps/index.js';
import { loadJsonConfig, requireReadableFiles, resolveFrom, resolveDatabase, listenAddress, hexKey, databaseSchema, metricsSchema } from '../../libs/config/index.js';
import type { DatabaseConfig } from '../../libs/db/index.js';
import type { GridRole } from '../../libs/grid/index.js';
import { natsConfigSchema } from '../../libs/events/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const lifetime = (days: number) => z.number().int().positive().max(100 * 365 * DAY_MS).default(days * DAY_MS);

/** Default certificate lifetimes per role, in ms. */
export const DEFAULT_CERTIFICATE_LIFETIMES: Record<GridRole, number> = {
  client: 30 * DAY_MS,
  'storage-server': 30 * DAY_MS,
  gateway: 30 * DAY_MS,
  'contact-point': 30 * DAY_MS,
  admin: 365 * DAY_MS,
};

export const certificateLifetimesSchema = z
  .object({
    client: lifetime(30),
    'storage-server': lifetime(30),
    gateway: lifetime(30),
    'contact-point': lifetime(30),
    admin: lifetime(365),
  })
  .strict();

const MIN_MS = 60_000;

/** The repairer's settings; keep checkEveryMs well below the storage servers' leaseDurationMs (31 days by default). */
export const repairerConfigSchema = z
  .object({
    /** Its client key (created on first start); default `<dataDir>/repairer-key.json`. */
    keyFile: z.string().min(1).optional(),
    /** How often each watched file is checked (and its leases renewed). */
    checkEveryMs: z.number().int().positive().default(24 * 60 * MIN_MS),
    /** How often due files are looked for. */
    pollMs: z.number().int().positive().max(24 * 60 * MIN_MS).default(MIN_MS),
    /** When a check failed, or a lease is short: the soonest next try. */
    retryMs: z.number().int().positive().default(10 * MIN_MS),
    /** Repair when fewer good shares, or servers holding them, remain (at most the file's n). */
    happy: z.number().int().min(1).max(256).default(DEFAULT_HAPPY),
  })
  .strict();

/** The JSON schema of a grid manager config file (unknown fields are rejected). */
export const gridManagerConfigSchema = z
  .object({
    /** host:port to listen on; port 0 picks a free port. */
    listen: listenAddress,
    /** Directory holding (by default) grid-manager.sqlite. */
    dataDir: z.string().min(1),
    /** Database; default SQLite file `<dataDir>/grid-manager.sqlite`. */
    database: databaseSchema.optional(),
    /** The grid key (libs/auth writeKeyFile format): signs every certificate and the directory. */
    keyFile: z.string().min(1),
    /** This grid's area code (3–8 decimal digits); written into every certificate. */
    areaCode: areaCodeSchema,
    /**
     * Admin public keys (hex) registered as approved admins at start-up (the
     * key written by `initGridManager`), so they can renew their certificates
     * and be listed and revoked like any other principal.
     */
    adminKeys: z.array(hexKey).max(1000).default([]),
    /** Lifetime of issued certificates per role (ApproveRequest.validity_ms = 0 and renewals). */
    certificateLifetimes: certificateLifetimesSchema.default(DEFAULT_CERTIFICATE_LIFETIMES),
    /**
     * A storage server is listed in the directory only if it announced within
     * this window (storage servers announce every minute by default).
     */
    directoryFreshnessMs: z.number().int().positive().default(5 * 60_000),
    /** Allowed clock difference for signed requests (libs/auth). */
    maxClockSkewMs: maxClockSkewSchema,
    /**
     * The grid's NATS (docs/events.md): when present, per-client usage events
     * are consumed and tallied (GetUsage `transfers`); absent → not consumed.
     */
    nats: natsConfigSchema.optional(),
    /**
     * The clearinghouse (docs/billing.md "Statements"): when present, the
     * grid manager fetches this grid's settlement statements and verifies
     * them with this key before storing them (ListStatements).
     */
    clearinghouse: z.object({ address: listenAddress, publicKey: hexKey }).strict().optional(),
    /** How often closed periods are looked for at the clearinghouse. */
    statementPollMs: z.number().int().positive().max(24 * 60 * 60_000).default(60_000),
    /** Most live request nonces one caller may have in the replay window; past it that caller gets RESOURCE_EXHAUSTED (docs/auth.md "Replay window"). */
    maxNoncesPerCaller: maxNoncesPerCallerSchema,
    /** Prometheus text at GET /metrics on this HTTP address (libs/metrics); absent = not served. */
    metrics: metricsSchema.optional(),
    /** The repairer (docs/repair.md): renews leases on watched files and repairs them below `happy`. */
    repairer: repairerConfigSchema.default(() => repairerConfigSchema.parse({})),
  })
  .strict();

/** A validated config with absolute paths and a concrete database. */
export type GridManagerConfig = Omit<z.infer<typeof gridManagerConfigSchema>, 'database' | 'repairer'> & {
  database: DatabaseConfig;
  repairer: z.infer<typeof repairerConfigSchema> & { keyFile: string };
};

/** Validates a config object (e.g. built by tests); relative paths are resolved against `baseFile`'s directory. */
export function resolveGridManagerConfig(raw: z.input<typeof gridManagerConfigSchema>, baseFile?: string): GridManagerConfig {
  return finish(gridManagerConfigSchema.parse(raw), baseFile);
}

function finish(parsed: z.infer<typeof gridManagerConfigSchema>, baseFile?: string): GridManagerConfig {
  const abs = (p: string): string => (baseFile ? resolveFrom(baseFile, p) : p);
  const dataDir = abs(parsed.dataDir);
  const database = resolveDatabase(parsed.database, dataDir, 'grid-manager.sqlite', abs);
  const repairer = { ...parsed.repairer, keyFile: parsed.repairer.keyFile ? abs(parsed.repairer.keyFile) : join(dataDir, 'repairer-key.json') };
  return { ...parsed, dataDir, database, keyFile: abs(parsed.keyFile), repairer };
}

/**
 * Reads and validates a grid manager config file: INTERGRID_* environment variables override fields
 * (docs/configuration.md), and the key and certificate files it names must
 * be readable.
 * @throws ConfigError naming the file and the offending field.
 */
export function loadGridManagerConfig(path: string): GridManagerConfig {
  const c = finish(loadJsonConfig(path, gridManagerConfigSchema, { env: process.env }), path);
  requireReadableFiles(path, { keyFile: c.keyFile });
  return c;
}
