/**
 * The one place an error becomes an HTTP status for the web API
 * (docs/web.md "Errors"): the caller's fault is 4xx, the grid's is 5xx, and
 * the body is always one line of text saying why.
 */
import { IntergridError, type ErrorCode } from '../../libs/errors/index.js';

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  CAP_PARSE: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PRECONDITION: 409,
  // Shares (or the gateway's stream) that do not verify: the grid served bad data.
  INTEGRITY: 502,
  LAYOUT_INVALID: 502,
  // The grid refused this client (revoked, certificate expired): the upstream said no.
  UNAUTHENTICATED: 502,
  PERMISSION_DENIED: 502,
  CONFIG: 500,
  INTERNAL: 500,
  // Too few servers answer, or the home or remote grid cannot be reached.
  UNAVAILABLE: 503,
  NOT_ENOUGH_SHARES: 503,
  HAPPINESS: 503,
  BUSY: 503,
  DEADLINE: 504,
  QUOTA: 507,
};

export interface HttpError {
  status: number;
  /** One line, no trailing newline. */
  message: string;
}

export function httpErrorOf(err: unknown): HttpError {
  if (err instanceof IntergridError) return { status: STATUS[err.code], message: oneLine(err.message) };
  return { status: 500, message: oneLine(`unexpected error: ${err instanceof Error ? err.message : String(err)}`) };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}
