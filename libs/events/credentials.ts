/**
 * NATS credentials files (docs/events.md "Credentials"): JSON
 * {"user": "...", "password": "..."}, mode 0600, written by `intergrid up`
 * per grid and read by `intergrid join --nats-credentials FILE` and
 * `intergrid grid init --nats-credentials FILE`. Errors name the file and
 * the field, never the password.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeIssues, jsonSyntaxProblem, writeJsonAtomic } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { natsCredentialsSchema, type NatsCredentials } from './config.js';

/** Fresh credentials: `user` and a random 32-character password (192 bits, base64url). */
export function generateNatsCredentials(user: string): NatsCredentials {
  return natsCredentialsSchema.parse({ user, password: randomBytes(24).toString('base64url') });
}

/** Writes a credentials file, mode 0600. */
export function writeNatsCredentialsFile(path: string, credentials: NatsCredentials): void {
  writeJsonAtomic(path, natsCredentialsSchema.parse(credentials), 0o600);
}

/**
 * Reads and validates a credentials file.
 * @throws ConfigError naming the file and field (never the password).
 */
export function readNatsCredentialsFile(path: string): NatsCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read NATS credentials file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`NATS credentials file ${path} is not valid JSON: ${jsonSyntaxProblem(e, text)}`);
  }
  const parsed = natsCredentialsSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`NATS credentials file ${path}: ${describeIssues(parsed.error)} (expected {"user": …, "password": …})`);
  return parsed.data;
}
