/**
 * How long a one-time invite stays redeemable: the same rule for grid
 * invites (grid manager CreateInvite) and federation invites (clearinghouse
 * CreateGridInvite). 0 or missing = one day; at most 30 days.
 */
import { InvalidArgumentError, uintField } from '../errors/index.js';

export const DEFAULT_INVITE_LIFETIME_MS = 24 * 3_600_000;
export const MAX_INVITE_LIFETIME_MS = 30 * 86_400_000;

/** The request's expires_in_ms as a lifetime in ms. */
export function inviteLifetimeField(value: number | string | undefined | null): number {
  const ms = uintField('expires_in_ms', value) || DEFAULT_INVITE_LIFETIME_MS;
  if (ms > MAX_INVITE_LIFETIME_MS) throw new InvalidArgumentError(`expires_in_ms ${ms} is more than 30 days`);
  return ms;
}
