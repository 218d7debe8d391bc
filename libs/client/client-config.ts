/**
 * The client's config file (client.json): who the client is, which grid is
 * home, and how it encodes files. Written by `intergrid up` / the admin,
 * read by every client command. It holds the client's secret key: mode 0600.
 */
import { z } from 'zod';
import { areaCodeSchema } from '../caps/index.js';
import { loadJsonConfig, listenAddress, hexKey, writeJsonAtomic } from '../config/index.js';
import {
  DEFAULT_K,
  DEFAULT_N,
  DEFAULT_HAPPY,
  DEFAULT_SEGMENT_SIZE,
  MAX_SHARES,
  MAX_SEGMENT_SIZE,
  MIN_CONFIG_SEGMENT_SIZE,
  validateParams,
} from '../format/index.js';

const shareCount = z.number().int().min(1).max(MAX_SHARES);

/**
 * client.json `encoding`: libs/format's bounds (params.ts), so a config that
 * loads is one the encoder takes (validateParams, including its bound on one
 * erasure call), plus the config's own floor MIN_CONFIG_SEGMENT_SIZE.
 */
export const encodingSchema = z
  .object({
    k: shareCount.default(DEFAULT_K),
    n: shareCount.default(DEFAULT_N),
    happy: shareCount.default(DEFAULT_HAPPY),
    segmentSize: z.number().int().min(MIN_CONFIG_SEGMENT_SIZE).max(MAX_SEGMENT_SIZE).default(DEFAULT_SEGMENT_SIZE),
  })
  .strict()
  .refine((e) => e.k <= e.n, { message: 'k must be <= n' })
  .refine((e) => e.happy <= e.n && e.happy >= 1, { message: 'happy must be in [1, n]' })
  .superRefine((e, ctx) => {
    if (e.k > e.n) return; // named by the refine above
    try {
      validateParams(e);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['segmentSize'], message: (err as Error).message });
    }
  });

export const clientConfigSchema = z
  .object({
    areaCode: areaCodeSchema,
    gridManager: z.object({ address: listenAddress, publicKey: hexKey }).strict(),
    /** Long-distance gateway of the home grid (issue 4); publicKey is its identity key, which pins its TLS certificate. */
    gateway: z.object({ address: listenAddress, publicKey: hexKey }).strict().optional(),
    publicKey: hexKey,
    secretKey: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
    /** Base64 of the client certificate issued by the grid manager. */
    certificate: z.string().min(1),
    /** When set, read keys are convergent (keyed by this secret and the plaintext). */
    convergenceSecret: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    encoding: encodingSchema.default({ k: DEFAULT_K, n: DEFAULT_N, happy: DEFAULT_HAPPY, segmentSize: DEFAULT_SEGMENT_SIZE }),
  })
  .strict();

export type ClientConfig = z.infer<typeof clientConfigSchema>;

/** @throws ConfigError naming the file and field. */
export function loadClientConfig(path: string): ClientConfig {
  return loadJsonConfig(path, clientConfigSchema);
}

export function writeClientConfig(path: string, config: ClientConfig): void {
  writeJsonAtomic(path, clientConfigSchema.parse(config), 0o600);
}
