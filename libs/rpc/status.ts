/**
 * The one place where domain errors become gRPC statuses, and gRPC errors
 * received by a client become domain errors again. Unknown errors become
 * INTERNAL with a generic message (the detail is logged, never sent).
 */
import { status as Status, type ServiceError, Metadata } from '@grpc/grpc-js';
import {
  IntergridError,
  InvalidArgumentError,
  CapParseError,
  IntegrityError,
  LayoutInvalidError,
  NotFoundError,
  AlreadyExistsError,
  QuotaError,
  AuthenticationError,
  PermissionError,
  PreconditionError,
  UnavailableError,
  NotEnoughSharesError,
  HappinessError,
  InternalError,
  BusyError,
  DeadlineError,
  type ErrorCode,
} from '../errors/index.js';

const TO_GRPC: Record<ErrorCode, Status> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  CAP_PARSE: Status.INVALID_ARGUMENT,
  INTEGRITY: Status.DATA_LOSS,
  LAYOUT_INVALID: Status.DATA_LOSS,
  NOT_FOUND: Status.NOT_FOUND,
  ALREADY_EXISTS: Status.ALREADY_EXISTS,
  QUOTA: Status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: Status.UNAUTHENTICATED,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
  PRECONDITION: Status.FAILED_PRECONDITION,
  UNAVAILABLE: Status.UNAVAILABLE,
  NOT_ENOUGH_SHARES: Status.UNAVAILABLE,
  HAPPINESS: Status.UNAVAILABLE,
  CONFIG: Status.FAILED_PRECONDITION,
  INTERNAL: Status.INTERNAL,
  BUSY: Status.RESOURCE_EXHAUSTED,
  DEADLINE: Status.DEADLINE_EXCEEDED,
};

/** Header carrying the domain error code so the receiving side can rebuild the exact class. */
export const ERROR_CODE_KEY = 'ig-error-code';

export interface StatusObject {
  code: Status;
  details: string;
  metadata: Metadata;
}

/** Converts any thrown value into a gRPC status object. */
export function toStatus(err: unknown, onInternal?: (err: unknown) => void): StatusObject {
  const metadata = new Metadata();
  if (err instanceof IntergridError) {
    metadata.set(ERROR_CODE_KEY, err.code);
    return { code: TO_GRPC[err.code], details: err.message, metadata };
  }
  if (isServiceError(err)) {
    // An error received from a downstream call: pass its status through.
    return { code: err.code, details: err.details, metadata };
  }
  onInternal?.(err);
  metadata.set(ERROR_CODE_KEY, 'INTERNAL');
  return { code: Status.INTERNAL, details: 'internal error', metadata };
}

export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err && typeof (err as ServiceError).code === 'number';
}

const FROM_CODE: Record<string, new (message: string, options?: { cause?: unknown }) => IntergridError> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  CAP_PARSE: CapParseError,
  INTEGRITY: IntegrityError,
  LAYOUT_INVALID: LayoutInvalidError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  QUOTA: QuotaError,
  UNAUTHENTICATED: AuthenticationError,
  PERMISSION_DENIED: PermissionError,
  PRECONDITION: PreconditionError,
  UNAVAILABLE: UnavailableError,
  NOT_ENOUGH_SHARES: NotEnoughSharesError,
  HAPPINESS: HappinessError,
  INTERNAL: InternalError,
  BUSY: BusyError,
  DEADLINE: DeadlineError,
};

const FROM_GRPC: Partial<Record<Status, new (message: string, options?: { cause?: unknown }) => IntergridError>> = {
  [Status.INVALID_ARGUMENT]: InvalidArgumentError,
  [Status.NOT_FOUND]: NotFoundError,
  [Status.ALREADY_EXISTS]: AlreadyExistsError,
  [Status.RESOURCE_EXHAUSTED]: QuotaError,
  [Status.UNAUTHENTICATED]: AuthenticationError,
  [Status.PERMISSION_DENIED]: PermissionError,
  [Status.FAILED_PRECONDITION]: PreconditionError,
  [Status.UNAVAILABLE]: UnavailableError,
  [Status.DEADLINE_EXCEEDED]: UnavailableError,
  [Status.CANCELLED]: UnavailableError,
  [Status.DATA_LOSS]: IntegrityError,
};

/**
 * Rebuilds a domain error from a gRPC error received by a client, prefixing
 * the message with who answered (`peer`), e.g. "storage 127.0.0.1:4001: quota …".
 */
export function fromServiceError(err: unknown, peer?: string): IntergridError {
  if (err instanceof IntergridError) return err;
  if (!isServiceError(err)) {
    return new InternalError(`${peer ? peer + ': ' : ''}${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const domain = err.metadata?.get(ERROR_CODE_KEY)?.[0];
  const Ctor = (typeof domain === 'string' && FROM_CODE[domain]) || FROM_GRPC[err.code] || InternalError;
  const details = err.details || Status[err.code] || 'error';
  return new Ctor(peer ? `${peer}: ${details}` : details, { cause: err });
}

/** The gRPC status code of a (possibly wrapped) error, if any. */
export function grpcCodeOf(err: unknown): Status | undefined {
  if (isServiceError(err)) return err.code;
  if (err instanceof Error && isServiceError(err.cause)) return err.cause.code;
  return undefined;
}

/**
 * The default for a service's `onInternal`: an unexpected error (mapped to
 * INTERNAL for the caller) written to stderr with its stack, named by
 * service and method, for the operator's log.
 */
export function stderrInternalLogger(service: string): (err: unknown, method: string) => void {
  return (err, method) => void process.stderr.write(`${service} ${method}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
}
