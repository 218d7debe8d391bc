export {
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
  ConfigError,
  InternalError,
  BusyError,
  DeadlineError,
  isIntergridError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export { assertBytes, assertInt, assertString, describe, nameField, uintField, dialAddressField, publicKeyField, MAX_NAME_LENGTH } from './args.js';
