/**
 * Gateway configuration: a JSON file validated with zod at the edge
 * (STYLE.md §13). Relative paths are resolved against the config file's
 * directory. The gateway keeps its transfers, signed receipts and outbox in
 * a database under `dataDir` (docs/gateway.md "Receipts and usage").
 */
import { z } from 'zod';
import { maxClockSkewSchema, maxNoncesPerCallerSchema } from '../../libs/auth/index.js';
import { areaCodeSchema } from '../../libs/caps/index.js';
import { loadJsonConfig, requireReadableFiles, resolveFrom, resolveDatabase, describeIssues, listenAddress, hexKey, writeJsonAtomic, databaseSchema, metricsSchema } from '../../libs/config/index.js';
import type { DatabaseConfig } from '../../libs/db/index.js';
import { ConfigError } from '../../libs/errors/index.js';
import { natsConfigSchema } from '../../libs/events/index.js';

const peer = z
  .object({
    /** host:port to dial. */
    address: z.string().min(1),
    /** Its public key (hex). */
    publicKey: hexKey,
  })
  .strict();

/** The JSON schema of a gateway config file (unknown fields are rejected). */
export const gatewayConfigSchema = z
  .object({
    /** Human label for logs. */
    name: z.string().min(1).optional(),
    /** host:port to listen on; port 0 picks a free port. */
    listen: listenAddress,
    /** This grid's area code: caps carrying it are local and never routed through the clearinghouse. */
    areaCode: areaCodeSchema,
    /** Directory holding (by default) gateway.sqlite: transfers, signed receipts, outbox. */
    dataDir: z.string().min(1),
    /** Database; default SQLite file `<dataDir>/gateway.sqlite`. */
    database: databaseSchema.optional(),
    /** The gateway's key pair file (libs/auth writeKeyFile format). */
    keyFile: z.string().min(1),
    /**
     * Certificates the gateway presents: its 'gateway' certificate from its
     * grid manager and its 'gateway-approval' certificate from the
     * clearinghouse (contact points accept only the latter).
     */
    certificateFiles: z.array(z.string().min(1)).min(1).max(8),
    /** This grid's manager: the only issuer trusted for callers' client and admin certificates; polled for revocations. */
    gridManager: peer,
    /** The clearinghouse: resolves area codes; its key verifies every resolution. */
    clearinghouse: peer,
    /** Highest price (units per GiB of ciphertext) this gateway pays; a dearer grid is refused before any byte moves. */
    priceCeilingUnitsPerGib: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Longest time a resolution is reused (never past its own expiresAtMs). */
    resolutionCacheMs: z.number().int().min(0).max(24 * 60 * 60_000).default(60_000),
    /** A contact point that sends nothing for this long is abandoned for the next one. */
    contactPointTimeoutMs: z.number().int().positive().max(10 * 60_000).default(30_000),
    /** Most concurrent long-distance fetches; more are refused with UNAVAILABLE (each buffers a few segments). */
    maxConcurrentFetches: z.number().int().positive().max(10_000).default(64),
    /** Most concurrent Fetch calls of one client (public key); more are refused with RESOURCE_EXHAUSTED, so one client cannot take every slot. */
    maxFetchesPerClient: z.number().int().positive().max(10_000).default(16),
    /** A Fetch whose client reads nothing for this long is ended (DEADLINE_EXCEEDED) and its slot freed. */
    streamStallMs: z.number().int().positive().max(60 * 60_000).default(60_000),
    /** Period of ListRevocations polling at the grid manager (revoked clients are refused). */
    revocationPollMs: z.number().int().positive().max(24 * 60 * 60_000).default(30_000),
    /** Allowed clock difference for signed requests (libs/auth). */
    maxClockSkewMs: maxClockSkewSchema,
    /** A receipt not yet delivered to its contact point (SubmitReceipt) is given up after this long. */
    receiptDeliveryMaxAgeMs: z.number().int().positive().max(365 * 24 * 60 * 60_000).default(60 * 60_000),
    /** This grid's NATS: per-client usage events are published there. Absent = no events. */
    nats: natsConfigSchema.optional(),
    /** Most live request nonces one caller may have in the replay window; past it that caller gets RESOURCE_EXHAUSTED (docs/auth.md "Replay window"). */
    maxNoncesPerCaller: maxNoncesPerCallerSchema,
    /** Prometheus text at GET /metrics on this HTTP address (libs/metrics); absent = not served. */
    metrics: metricsSchema.optional(),
  })
  .strict();

/** A validated gateway config with absolute paths and a concrete database. */
export type GatewayConfig = Omit<z.infer<typeof gatewayConfigSchema>, 'database'> & { database: DatabaseConfig };

function finish(parsed: z.infer<typeof gatewayConfigSchema>, baseFile?: string): GatewayConfig {
  const abs = (p: string): string => (baseFile ? resolveFrom(baseFile, p) : p);
  const dataDir = abs(parsed.dataDir);
  const database = resolveDatabase(parsed.database, dataDir, 'gateway.sqlite', abs);
  return { ...parsed, dataDir, database, keyFile: abs(parsed.keyFile), certificateFiles: parsed.certificateFiles.map(abs) };
}

function validate(raw: z.input<typeof gatewayConfigSchema>): z.infer<typeof gatewayConfigSchema> {
  const parsed = gatewayConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`gateway config: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Validates a config object (tests, `intergrid up`); relative paths are resolved against `baseFile`'s directory.
 * @throws ConfigError naming the offending field.
 */
export function resolveGatewayConfig(raw: z.input<typeof gatewayConfigSchema>, baseFile?: string): GatewayConfig {
  return finish(validate(raw), baseFile);
}

/**
 * Writes a gateway config file, validated first (e.g. by `intergrid up`).
 * Paths are written as given (relative ones resolve against the file's directory when loaded).
 * @throws ConfigError naming the offending field.
 */
export function writeGatewayConfig(path: string, raw: z.input<typeof gatewayConfigSchema>): void {
  writeJsonAtomic(path, validate(raw), 0o600);
}

/**
 * Reads and validates a gateway config file: INTERGRID_* environment variables override fields
 * (docs/configuration.md), and the key and certificate files it names must
 * be readable.
 * @throws ConfigError naming the file and the offending field.
 */
export function loadGatewayConfig(path: string): GatewayConfig {
  const c = finish(loadJsonConfig(path, gatewayConfigSchema, { env: process.env }), path);
  requireReadableFiles(path, { keyFile: c.keyFile, certificateFiles: c.certificateFiles });
  return c;
}
