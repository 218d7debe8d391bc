/**
 * Clearinghouse configuration: a JSON file validated with zod at the edge
 * (STYLE.md §13). Relative paths are resolved against the config file's
 * directory, so a clearinghouse directory can be moved as a whole.
 */
import { z } from 'zod';
import { maxClockSkewSchema, maxNoncesPerCallerSchema } from '../../libs/auth/index.js';
import { loadJsonConfig, requireReadableFiles, resolveFrom, resolveDatabase, listenAddress, hexKey, databaseSchema, metricsSchema } from '../../libs/config/index.js';
import type { DatabaseConfig } from '../../libs/db/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_LIFETIME_MS = 100 * 365 * DAY_MS;

/** The JSON schema of a clearinghouse config file (unknown fields are rejected). */
export const clearinghouseConfigSchema = z
  .object({
    /** host:port to listen on; port 0 picks a free port. */
    listen: listenAddress,
    /** Directory holding (by default) clearinghouse.sqlite. */
    dataDir: z.string().min(1),
    /** Database; default SQLite file `<dataDir>/clearinghouse.sqlite`. */
    database: databaseSchema.optional(),
    /** The clearinghouse key (libs/auth writeKeyFile format): signs resolutions and certificates. */
    keyFile: z.string().min(1),
    /** Operator public keys (hex) written by init; informational (the certificate is what authorises). */
    adminKeys: z.array(hexKey).max(1000).default([]),
    /** How long a signed resolution stays valid. */
    resolutionTtlMs: z.number().int().positive().max(DAY_MS).default(60_000),
    /** Default lifetime of a gateway-approval certificate (ApproveGateway validity_ms = 0). */
    gatewayApprovalLifetimeMs: z.number().int().positive().max(MAX_LIFETIME_MS).default(30 * DAY_MS),
    /** Lifetime of the operator's clearinghouse-admin certificate (init). */
    adminCertificateLifetimeMs: z.number().int().positive().max(MAX_LIFETIME_MS).default(365 * DAY_MS),
    /**
     * A contact point is listed in resolutions only if it registered within
     * this window (3× the contact points' default refresh period of a minute).
     */
    contactPointFreshnessMs: z.number().int().positive().default(3 * 60_000),
    /** First area code tried when AdmitGrid asks for none (then upwards). */
    firstAreaCode: z.number().int().min(100).max(99_999_999).default(101),
    /** Allowed clock difference for signed requests (libs/auth); also the slack on gateway-approval windows for receipts. */
    maxClockSkewMs: maxClockSkewSchema,
    /**
     * Billing: a transfer reported by one side only for longer than this
     * becomes a 'missing-side' dispute at the next ClosePeriod.
     */
    unmatchedGraceMs: z.number().int().min(0).max(MAX_LIFETIME_MS).default(10 * 60_000),
    /**
     * Billing: worker threads verifying reported records' signatures (0 = in
     * the request thread). 2 roughly doubles ingest on 2 cores (docs/billing.md "Performance").
     */
    verifyWorkers: z.number().int().min(0).max(16).default(2),
    /** Most live request nonces one caller may have in the replay window; past it that caller gets RESOURCE_EXHAUSTED (docs/auth.md "Replay window"). */
    maxNoncesPerCaller: maxNoncesPerCallerSchema,
    /** Prometheus text at GET /metrics on this HTTP address (libs/metrics); absent = not served. */
    metrics: metricsSchema.optional(),
  })
  .strict();

/** A validated config with absolute paths and a concrete database. */
export type ClearinghouseConfig = Omit<z.infer<typeof clearinghouseConfigSchema>, 'database'> & {
  database: DatabaseConfig;
  /**
   * Crash tests only: wait this long between a ledger commit and its reply
   * (ledger-handlers.ts). Not a config field: set from the environment
   * variable INTERGRID_TEST_ACK_DELAY_MS by loadClearinghouseConfig, absent otherwise.
   */
  testAckDelayMs?: number;
};

/** The environment variable behind ClearinghouseConfig.testAckDelayMs. */
const TEST_ACK_DELAY_ENV = 'INTERGRID_TEST_ACK_DELAY_MS';

/** INTERGRID_TEST_ACK_DELAY_MS as a delay: 1..10 000 ms, anything else (unset, malformed, out of range) is none. */
function testAckDelayFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = Number(env[TEST_ACK_DELAY_ENV] ?? 0);
  return Number.isSafeInteger(v) && v > 0 && v <= 10_000 ? v : undefined;
}

/** Validates a config object (e.g. built by tests); relative paths are resolved against `baseFile`'s directory. */
export function resolveClearinghouseConfig(raw: z.input<typeof clearinghouseConfigSchema>, baseFile?: string): ClearinghouseConfig {
  return finish(clearinghouseConfigSchema.parse(raw), baseFile);
}

function finish(parsed: z.infer<typeof clearinghouseConfigSchema>, baseFile?: string): ClearinghouseConfig {
  const abs = (p: string): string => (baseFile ? resolveFrom(baseFile, p) : p);
  const dataDir = abs(parsed.dataDir);
  const database = resolveDatabase(parsed.database, dataDir, 'clearinghouse.sqlite', abs);
  return { ...parsed, dataDir, database, keyFile: abs(parsed.keyFile) };
}

/**
 * Reads and validates a clearinghouse config file: INTERGRID_* environment variables override fields
 * (docs/configuration.md), and the key and certificate files it names must
 * be readable. INTERGRID_TEST_ACK_DELAY_MS (crash tests) sets testAckDelayMs.
 * @throws ConfigError naming the file and the offending field.
 */
export function loadClearinghouseConfig(path: string): ClearinghouseConfig {
  const c = finish(loadJsonConfig(path, clearinghouseConfigSchema, { env: process.env }), path);
  requireReadableFiles(path, { keyFile: c.keyFile });
  const ackDelayMs = testAckDelayFromEnv(process.env);
  return ackDelayMs === undefined ? c : { ...c, testAckDelayMs: ackDelayMs };
}
