/**
 * Clearinghouse RPC handlers (proto/clearinghouse.proto), one module per
 * concern: grid-handlers.ts (admission, invites, suspension, prices),
 * gateway-approval-handlers.ts (gateway approvals and sanctions),
 * routing-handlers.ts (contact points and resolution), ledger-handlers.ts
 * (metering, disputes, periods). Authentication and role checks happen
 * before these run (libs/auth securedServer, policy in server.ts, which also
 * states which grid each caller must speak for, caller-rules.ts); handlers
 * read the caller with principalOf(call) and keep the business rules.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ClearinghouseContext } from './handler-context.js';
import { gridHandlers } from './grid-handlers.js';
import { gatewayApprovalHandlers } from './gateway-approval-handlers.js';
import { routingHandlers } from './routing-handlers.js';
import { ledgerHandlers } from './ledger-handlers.js';

export type { ClearinghouseContext } from './handler-context.js';
export { federationInviteHandlers } from './grid-handlers.js';

/** The Clearinghouse service implementation, keyed by the proto method names. */
export function clearinghouseHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  return {
    ...ledgerHandlers({ ...ctx, ackDelayMs: ctx.config.testAckDelayMs ?? 0 }),
    ...gridHandlers(ctx),
    ...gatewayApprovalHandlers(ctx),
    ...routingHandlers(ctx),
  };
}
