/**
 * The optional `nats` section of the grid manager and gateway configs
 * (DESIGN.md "Events inside a grid"), validated at the edge (STYLE.md §13).
 */
import { z } from 'zod';
import { USAGE_STREAM } from './subjects.js';

/** A NATS server URL: nats://host:port (or tls://, ws(s)://). */
const natsUrl = z
  .string()
  .min(1)
  .max(300)
  .regex(/^(nats|tls|ws|wss):\/\/[^\s/]+$/, 'expected nats://host:port');

/**
 * A grid's NATS user and password (docs/events.md "Credentials"): the
 * grid's nats-server refuses connections without them, so only the grid's
 * own services publish or read usage events. Also the format of the
 * credentials file `intergrid up` writes and `--nats-credentials` reads.
 */
export const natsCredentialsSchema = z
  .object({
    user: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -'),
    /** At least 16 characters; no whitespace or quotes (nats-server config and command-line safe). */
    password: z.string().regex(/^[^\s"'\\]{16,200}$/, 'expected 16-200 characters without whitespace, quotes or backslashes'),
  })
  .strict();

/** A validated credentials section. */
export type NatsCredentials = z.infer<typeof natsCredentialsSchema>;

/** `nats: { servers: ["nats://127.0.0.1:4222"], stream?: "INTERGRID_USAGE", credentials?: {user, password} }` (unknown fields are rejected). */
export const natsConfigSchema = z
  .object({
    /** The grid's NATS servers (one is enough; several are tried in turn). */
    servers: z.array(natsUrl).min(1).max(16),
    /** The grid's NATS user and password; absent = connect without (a nats-server without authorization). */
    credentials: natsCredentialsSchema.optional(),
    /** The JetStream stream holding usage events. */
    stream: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -')
      .default(USAGE_STREAM),
  })
  .strict();

/** A validated `nats` config section. */
export type NatsConfig = z.infer<typeof natsConfigSchema>;
