/**
 * The one place a service's logger is made (docs/architecture.md
 * "Operations: metrics and request logs"): pino, JSON lines on stderr (fd 2),
 * at the level INTERGRID_LOG_LEVEL names (default info). Tests pass their own
 * logger to `start<Service>` instead, or set the variable for their children.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { ConfigError } from '../errors/index.js';

/** The environment variable that sets every service's log level. */
export const LOG_LEVEL_ENV = 'INTERGRID_LOG_LEVEL';

/** The levels INTERGRID_LOG_LEVEL accepts, most verbose first (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/**
 * The log level INTERGRID_LOG_LEVEL in `env` names; unset or empty → info.
 * Surrounding blanks and case are ignored (`WARN` is `warn`).
 * @throws ConfigError naming the variable, its value and the allowed levels.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env[LOG_LEVEL_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_LOG_LEVEL;
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`environment variable ${LOG_LEVEL_ENV}=${JSON.stringify(raw)} is not a log level: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

export interface ServiceLoggerOptions {
  /**
   * Where the level comes from: the service's entry point passes process.env
   * (STYLE.md §13: nothing below the entry points reads it), tests their own.
   */
  env: NodeJS.ProcessEnv;
  /** Where the lines go (default stderr, fd 2). */
  destination?: DestinationStream;
}

/**
 * A service's logger: pino named `name` (the `name` field of every line),
 * writing to stderr at the level of INTERGRID_LOG_LEVEL.
 * @throws ConfigError for an INTERGRID_LOG_LEVEL that is not a level.
 */
export function serviceLogger(name: string, opts: ServiceLoggerOptions): Logger {
  const level = logLevelFromEnv(opts.env);
  return pino({ name, level }, opts.destination ?? pino.destination(2));
}
