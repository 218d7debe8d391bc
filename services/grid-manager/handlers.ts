/**
 * GridManager RPC handlers (proto/grid_manager.proto), one module per
 * concern: directory-handlers.ts (servers announce, the signed directory),
 * membership-handlers.ts (approve, renew, revoke, list), invite-handlers.ts
 * (create and redeem invites), usage-handlers.ts (storage usage),
 * status-handlers.ts (grid status, statements), watch-handlers.ts (files
 * the repairer keeps alive). Authentication and role
 * checks happen before these run (libs/auth securedServer, policy in
 * server.ts); handlers read the caller with principalOf(call) and keep the
 * business rules. Every write is committed before the reply is sent.
 */
import type * as grpc from '@grpc/grpc-js';
import type { GridManagerContext } from './handler-context.js';
import { directoryHandlers } from './directory-handlers.js';
import { membershipHandlers } from './membership-handlers.js';
import { createInviteHandlers } from './invite-handlers.js';
import { usageHandlers } from './usage-handlers.js';
import { statusHandlers } from './status-handlers.js';
import { watchHandlers } from './watch-handlers.js';

export type { GridManagerContext } from './handler-context.js';
export { gridInviteHandlers } from './invite-handlers.js';
export { statusSources } from './status-handlers.js';

/** The GridManager service implementation, keyed by the proto method names. */
export function gridManagerHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  return {
    ...directoryHandlers(ctx),
    ...membershipHandlers(ctx),
    ...createInviteHandlers(ctx),
    ...usageHandlers(ctx),
    ...statusHandlers(ctx),
    ...watchHandlers(ctx),
  };
}
