/**
 * Which gateways a contact point serves: the one definition of each rule,
 * applied per call by the auth policy's `admit` hook (server.ts), before
 * any handler runs and before the call's nonce is stored.
 */
import type { Principal } from '../../libs/auth/index.js';
import { shortKey } from '../../libs/crypto/index.js';
import { PermissionError } from '../../libs/errors/index.js';

/**
 * Checks the caller against this grid: a gateway of this very grid has no
 * business with its own contact point (local reads go straight to the
 * storage servers, and billing a grid for its own bytes would be wrong).
 * @throws PermissionError
 */
export function checkGateway(p: Principal, areaCode: string): void {
  if (p.grid === areaCode) {
    throw new PermissionError(
      `gateway ${shortKey(p.publicKey)} is approved for area ${p.grid}, this contact point's own grid: contact points serve only gateways of other grids`,
    );
  }
}

/**
 * Refuses a gateway whose grid the clearinghouse suspended (a gateway
 * holding a resolution from before, or skipping Resolve, must not keep
 * fetching). Receipts are still accepted: they account for bytes already served.
 * @throws PermissionError naming the grid
 */
export function checkNotSuspended(p: Principal, isGridSuspended: ((areaCode: string) => boolean) | undefined): void {
  if (isGridSuspended?.(p.grid)) {
    throw new PermissionError(`area code ${p.grid} is suspended by the clearinghouse: its gateway ${shortKey(p.publicKey)} is refused until the grid is reinstated`);
  }
}
