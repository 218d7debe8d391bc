/**
 * Contact point configuration: a JSON file validated with zod at the edge
 * (STYLE.md §13). Relative paths are resolved against the config file's
 * directory, so a grid directory can be moved as a whole.
 */
import { z } from 'zod';
import { maxClockSkewSchema, maxNoncesPerCallerSchema } from '../../libs/auth/index.js';
import { areaCodeSchema } from '../../libs/caps/index.js';
import { loadJsonConfig, requireReadableFiles, resolveFrom, resolveDatabase, describeIssues, listenAddress, hexKey, writeJsonAtomic, databaseSchema, metricsSchema } from '../../libs/config/index.js';
import type { DatabaseConfig } from '../../libs/db/index.js';
import { ConfigError } from '../../libs/errors/index.js';

const positiveMs = z.number().int().positive().max(365 * 24 * 60 * 60 * 1000);

/** The JSON schema of a contact point config file (unknown fields are rejected). */
export const contactPointConfigSchema = z
  .object({
    /** Human label for logs. */
    name: z.string().min(1).optional(),
    /** host:port to listen on; port 0 picks a free port. */
    listen: listenAddress,
    /** Address registered at the clearinghouse when it differs from the bound one (e.g. listening on 0.0.0.0). */
    advertiseAddress: listenAddress.optional(),
    /** This grid's area code: only verify-caps ending in it are served, and gateways of this grid are refused. */
    areaCode: areaCodeSchema,
    /** Directory holding (by default) contact-point.sqlite: transfers served, receipts, outbox. */
    dataDir: z.string().min(1),
    /** Database; default SQLite file `<dataDir>/contact-point.sqlite`. */
    database: databaseSchema.optional(),
    /** This contact point's key pair file (libs/auth writeKeyFile format). */
    keyFile: z.string().min(1),
    /** Its 'contact-point' certificate from its grid manager (libs/auth writeCertificateFile format); renewals are written back. */
    certificateFile: z.string().min(1),
    gridManager: z
      .object({
        address: listenAddress,
        /** Grid manager public key (hex): the directory of storage servers must be signed by it. */
        publicKey: hexKey,
      })
      .strict(),
    clearinghouse: z
      .object({
        address: listenAddress,
        /** Clearinghouse public key (hex): the only issuer trusted for 'gateway-approval' certificates. */
        publicKey: hexKey,
      })
      .strict(),
    /** Period of RegisterContactPoint at the clearinghouse (also the retry period after a failure). */
    registerIntervalMs: positiveMs.default(60_000),
    /**
     * Period of ListSanctions at the clearinghouse: suspended grids and revoked
     * gateway approvals are refused at most this long after the clearinghouse
     * operator acted (also the retry period after a failure).
     */
    sanctionsPollMs: positiveMs.default(10_000),
    /** The storage-server directory is fetched again from the grid manager at most this often. */
    directoryRefreshMs: positiveMs.default(60_000),
    /** Allowed clock difference for signed requests (libs/auth). */
    maxClockSkewMs: maxClockSkewSchema,
    /** Most concurrent FetchSegments calls; more are refused with UNAVAILABLE (each holds ~3 segments in memory). */
    maxConcurrentFetches: z.number().int().positive().max(10_000).default(64),
    /** Most concurrent FetchSegments calls of one gateway (public key); more are refused with RESOURCE_EXHAUSTED, so one gateway cannot take every slot. */
    maxFetchesPerGateway: z.number().int().positive().max(10_000).default(16),
    /** A FetchSegments whose gateway reads nothing for this long is ended (DEADLINE_EXCEEDED) and its slot freed. */
    streamStallMs: positiveMs.default(60_000),
    /** A finished transfer whose gateway sent no receipt within this long is reported without one (the clearinghouse disputes it). */
    receiptWaitMs: positiveMs.default(120_000),
    /** Most live request nonces one caller may have in the replay window; past it that caller gets RESOURCE_EXHAUSTED (docs/auth.md "Replay window"). */
    maxNoncesPerCaller: maxNoncesPerCallerSchema,
    /** Prometheus text at GET /metrics on this HTTP address (libs/metrics); absent = not served. */
    metrics: metricsSchema.optional(),
  })
  .strict();

/** A validated config with absolute paths and a concrete database. */
export type ContactPointConfig = Omit<z.infer<typeof contactPointConfigSchema>, 'database'> & { database: DatabaseConfig };

/**
 * Validates an in-memory config (tests, `intergrid up`).
 * @throws ConfigError naming the offending field.
 */
export function resolveContactPointConfig(raw: z.input<typeof contactPointConfigSchema>, baseFile?: string): ContactPointConfig {
  const parsed = contactPointConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`contact point config: ${describeIssues(parsed.error)}`);
  return finish(parsed.data, baseFile);
}

function finish(parsed: z.infer<typeof contactPointConfigSchema>, baseFile?: string): ContactPointConfig {
  const abs = (p: string): string => (baseFile ? resolveFrom(baseFile, p) : p);
  const dataDir = abs(parsed.dataDir);
  const database = resolveDatabase(parsed.database, dataDir, 'contact-point.sqlite', abs);
  return { ...parsed, dataDir, database, keyFile: abs(parsed.keyFile), certificateFile: abs(parsed.certificateFile) };
}

/**
 * Reads and validates a contact point config file: INTERGRID_* environment variables override fields
 * (docs/configuration.md), and the key and certificate files it names must
 * be readable.
 * @throws ConfigError naming the file and the offending field.
 */
export function loadContactPointConfig(path: string): ContactPointConfig {
  const c = finish(loadJsonConfig(path, contactPointConfigSchema, { env: process.env }), path);
  requireReadableFiles(path, { keyFile: c.keyFile, certificateFile: c.certificateFile });
  return c;
}

/**
 * Writes a contact point config file (validated first; e.g. by `intergrid up`).
 * Paths are written as given (relative ones resolve against the file's directory when loaded).
 * @throws ConfigError naming the offending field.
 */
export function writeContactPointConfig(path: string, raw: z.input<typeof contactPointConfigSchema>): void {
  const parsed = contactPointConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`contact point config: ${describeIssues(parsed.error)}`);
  writeJsonAtomic(path, parsed.data, 0o600);
}
