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

/** What a download saw of the servers (libs/client DownloadReport): enough to tell "try later" from "the data is bad". */
export interface DownloadEvidence {
  corrupt: readonly unknown[];
  unavailable: readonly unknown[];
}

/**
 * The status of a failed download, given what it saw. Too few good shares
 * is 503 while servers did not answer (they may come back), but 502 when
 * every share it could not use failed verification: retrying cannot help.
 * No share found is 404 only if every server answered: while some did not,
 * the file may be on them (503).
 */
export function downloadErrorOf(err: unknown, seen: DownloadEvidence): HttpError {
  const e = httpErrorOf(err);
  const code = err instanceof IntergridError ? err.code : undefined;
  if (code === 'NOT_ENOUGH_SHARES' && seen.unavailable.length === 0 && seen.corrupt.length > 0) {
    return { status: 502, message: oneLine(`the grid's shares of this file do not verify: ${err instanceof Error ? err.message : ''}`) };
  }
  if (code === 'NOT_FOUND' && seen.unavailable.length > 0) {
    return { status: 503, message: oneLine(`${err instanceof Error ? err.message : ''}; it may be on the servers that did not answer`) };
  }
  return e;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}
