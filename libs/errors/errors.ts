/**
 * The Intergrid error hierarchy. Every domain error carries a stable `code`
 * (used by logs, tests and the CLI) and a message that names the offending
 * value. Services map these to gRPC statuses in exactly one place
 * (`libs/rpc/status.ts`); nothing else converts errors to wire codes.
 */

/** Stable, machine-readable error codes. Never renumber or rename. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'CAP_PARSE'
  | 'INTEGRITY'
  | 'LAYOUT_INVALID'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'QUOTA'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'PRECONDITION'
  | 'UNAVAILABLE'
  | 'NOT_ENOUGH_SHARES'
  | 'HAPPINESS'
  | 'CONFIG'
  | 'INTERNAL'
  | 'BUSY'
  | 'DEADLINE';

export class IntergridError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A value supplied by a caller is malformed or out of range. */
export class InvalidArgumentError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A cap string could not be parsed. */
export class CapParseError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CAP_PARSE', message, options);
  }
}

/** Bytes failed a hash or signature check: never use them. */
export class IntegrityError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTEGRITY', message, options);
  }
}

/** A stored or received structure does not follow its documented layout. */
export class LayoutInvalidError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAYOUT_INVALID', message, options);
  }
}

export class NotFoundError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

export class AlreadyExistsError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALREADY_EXISTS', message, options);
  }
}

/** An account would exceed its quota. */
export class QuotaError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('QUOTA', message, options);
  }
}

/** The caller could not be authenticated (signature, certificate, nonce, clock). */
export class AuthenticationError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAUTHENTICATED', message, options);
  }
}

/** The caller is authenticated but not allowed to do this (role, grid, revoked). */
export class PermissionError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERMISSION_DENIED', message, options);
  }
}

/** The system is not in a state where the operation can proceed. */
export class PreconditionError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PRECONDITION', message, options);
  }
}

/** A peer could not be reached or answered with a transport failure. */
export class UnavailableError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** Fewer than k good shares could be found for a file. */
export class NotEnoughSharesError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_ENOUGH_SHARES', message, options);
  }
}

/** An upload could not place shares on `happy` distinct servers. */
export class HappinessError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HAPPINESS', message, options);
  }
}

/** A configuration file or value is invalid. */
export class ConfigError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** One caller already holds as many concurrent calls as a server allows per caller. */
export class BusyError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BUSY', message, options);
  }
}

/** A peer stopped reading or sending for longer than the server waits; the call was ended. */
export class DeadlineError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEADLINE', message, options);
  }
}

export class InternalError extends IntergridError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

/** True when `e` is an IntergridError (optionally with the given code). */
export function isIntergridError(e: unknown, code?: ErrorCode): e is IntergridError {
  return e instanceof IntergridError && (code === undefined || e.code === code);
}
