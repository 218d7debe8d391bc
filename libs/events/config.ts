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

/** `nats: { servers: ["nats://127.0.0.1:4222"], stream?: "INTERGRID_USAGE" }` (unknown fields are rejected). */
export const natsConfigSchema = z
  .object({
    /** The grid's NATS servers (one is enough; several are tried in turn). */
    servers: z.array(natsUrl).min(1).max(16),
    /** The JetStream stream holding usage events. */
    stream: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -')
      .default(USAGE_STREAM),
  })
  .strict();

/** A validated `nats` config section. */
export type NatsConfig = z.infer<typeof natsConfigSchema>;
