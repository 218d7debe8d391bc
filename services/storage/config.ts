/**
 * Storage server configuration: a JSON file validated with zod at the edge
 * (STYLE.md §13). Relative paths are resolved against the config file's
 * directory, so a grid directory can be moved as a whole.
 */
import { z } from 'zod';
import { maxClockSkewSchema, maxNoncesPerCallerSchema } from '../../libs/auth/index.js';
import { loadJsonConfig, requireReadableFiles, resolveFrom, resolveDatabase, describeIssues, listenAddress, hexKey, databaseSchema, metricsSchema } from '../../libs/config/index.js';
import { ConfigError } from '../../libs/errors/index.js';
import type { DatabaseConfig } from '../../libs/db/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** S3 bucket names (the common rules: 3–63 lowercase letters, digits, dots and hyphens). */
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name: 3-63 lowercase letters, digits, dots, hyphens');

export const shareBackendSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('disk') }).strict(),
  z
    .object({
      kind: z.literal('s3'),
      /** e.g. http://127.0.0.1:7480 (Ceph RGW), https://s3.eu-west-1.amazonaws.com */
      endpoint: z.string().url(),
      bucket: bucketName,
      region: z.string().min(1).default('us-east-1'),
      /** Key prefix of this server's objects, so several servers can share a bucket ('' or ending in '/'). */
      prefix: z.string().regex(/^$|^[A-Za-z0-9!_.*'()/-]{0,200}\/$/, "expected '' or a key prefix ending in '/'").default(''),
      /** Absent: the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY …); or INTERGRID_SHARE_BACKEND__ACCESS_KEY_ID. */
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      forcePathStyle: z.boolean().default(true),
      /** What Stats reports as room: capacityBytes minus the bytes stored; absent = unbounded. */
      capacityBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    })
    .strict()
    .refine((b) => (b.accessKeyId === undefined) === (b.secretAccessKey === undefined), 'accessKeyId and secretAccessKey go together'),
]);
const positiveMs = z.number().int().positive();

/** The JSON schema of a storage server config file (unknown fields are rejected). */
export const storageConfigSchema = z
  .object({
    /** Human label for logs. */
    name: z.string().min(1).optional(),
    /** host:port to listen on; port 0 picks a free port. */
    listen: listenAddress,
    /** Address announced to the grid manager when it differs from the bound one (e.g. listening on 0.0.0.0). */
    advertiseAddress: listenAddress.optional(),
    /** Directory holding shares/, incoming/ and (by default) storage.sqlite. */
    dataDir: z.string().min(1),
    /** Metadata database; default SQLite file `<dataDir>/storage.sqlite`. */
    database: databaseSchema.optional(),
    /**
     * Where complete shares live (docs/storage.md "S3 backend"): files under
     * dataDir (the default), or objects in an S3 bucket; leases, accounts and
     * uploads in progress stay local either way.
     */
    shareBackend: shareBackendSchema.default({ kind: 'disk' }),
    gridManager: z
      .object({
        address: z.string().min(1),
        /** Grid manager public key (hex): the only issuer trusted for callers' certificates. */
        publicKey: hexKey,
      })
      .strict(),
    /** This server's key pair file (libs/auth writeKeyFile format). */
    keyFile: z.string().min(1),
    /** This server's storage-server certificate (libs/auth writeCertificateFile format). */
    certificateFile: z.string().min(1),
    /** Lease length granted by WriteShare and RenewLease. */
    leaseDurationMs: positiveMs.default(31 * DAY_MS),
    /** How long an allocation (reservation) lives without being written. */
    reservationTtlMs: positiveMs.default(60 * 60 * 1000),
    /** Period of lease expiry / garbage collection. */
    gcIntervalMs: positiveMs.default(60 * 60 * 1000),
    /** Period of AnnounceServer to the grid manager. */
    announceIntervalMs: positiveMs.default(60_000),
    /** Period of ListRevocations polling. */
    revocationPollMs: positiveMs.default(30_000),
    /** Period of ReportUsage. */
    usageReportIntervalMs: positiveMs.default(5 * 60_000),
    /** Largest share accepted by AllocateBuckets / WriteShare. */
    maxShareBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(64 * 1024 * 1024 * 1024),
    /** Most ReadShare + WriteShare streams one caller (public key) may have open at once; more are refused with RESOURCE_EXHAUSTED. */
    maxStreamsPerCaller: z.number().int().positive().max(100_000).default(64),
    /** A ReadShare whose receiver reads nothing for this long is ended (DEADLINE_EXCEEDED) and its slot freed. */
    streamStallMs: positiveMs.default(60_000),
    /** A WriteShare stream that sends nothing for this long is ended (DEADLINE_EXCEEDED); its partial share is discarded. */
    writeIdleMs: positiveMs.default(120_000),
    /** Allowed clock difference for signed requests (libs/auth). */
    maxClockSkewMs: maxClockSkewSchema,
    /** Most live request nonces one caller may have in the replay window; past it that caller gets RESOURCE_EXHAUSTED (docs/auth.md "Replay window"). */
    maxNoncesPerCaller: maxNoncesPerCallerSchema,
    /** Prometheus text at GET /metrics on this HTTP address (libs/metrics); absent = not served. */
    metrics: metricsSchema.optional(),
  })
  .strict();

/** A validated config with absolute paths and a concrete database. */
export type StorageConfig = Omit<z.infer<typeof storageConfigSchema>, 'database'> & { database: DatabaseConfig };

/**
 * Validates an in-memory config (tests, `intergrid up`) and fills in defaults
 * that depend on other fields (the database file lives in the data dir).
 * @throws ConfigError naming the offending field.
 */
export function resolveStorageConfig(raw: z.input<typeof storageConfigSchema>, baseFile?: string): StorageConfig {
  const parsed = storageConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`storage config: ${describeIssues(parsed.error)}`);
  return finish(parsed.data, baseFile);
}

function finish(parsed: z.infer<typeof storageConfigSchema>, baseFile?: string): StorageConfig {
  const abs = (p: string): string => (baseFile ? resolveFrom(baseFile, p) : p);
  const dataDir = abs(parsed.dataDir);
  const database = resolveDatabase(parsed.database, dataDir, 'storage.sqlite', abs);
  return {
    ...parsed,
    dataDir,
    database,
    keyFile: abs(parsed.keyFile),
    certificateFile: abs(parsed.certificateFile),
  };
}

/**
 * Reads and validates a storage server config file: INTERGRID_* environment variables override fields
 * (docs/configuration.md), and the key and certificate files it names must
 * be readable.
 * @throws ConfigError naming the file and the offending field.
 */
export function loadStorageConfig(path: string): StorageConfig {
  const c = finish(loadJsonConfig(path, storageConfigSchema, { env: process.env }), path);
  requireReadableFiles(path, { keyFile: c.keyFile, certificateFile: c.certificateFile });
  return c;
}
