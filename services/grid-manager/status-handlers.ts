/**
 * What an admin reads about the grid as a whole (docs/grid-manager.md
 * "Status"): GetStatus (grid-status.ts builds it) and the settlement
 * statements fetched from the clearinghouse (ListStatements).
 */
import type * as grpc from '@grpc/grpc-js';
import { MAX_VALIDITY_MS } from '../../libs/auth/index.js';
import { InvalidArgumentError } from '../../libs/errors/index.js';
import type { Empty, GetStatusRequest__Output, GridStatus, ListStatementsResponse } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import { type GridManagerContext } from './handler-context.js';
import { gridStatus, DEFAULT_EXPIRING_WITHIN_MS, type GridStatusSources } from './grid-status.js';

/** The stores and settings grid-status.ts reads (GetStatus and the /metrics gauges). */
export function statusSources(ctx: Pick<GridManagerContext, 'config' | 'principals' | 'usage' | 'statements'>): GridStatusSources {
  return {
    areaCode: ctx.config.areaCode,
    directoryFreshnessMs: ctx.config.directoryFreshnessMs,
    clearinghouseConfigured: ctx.config.clearinghouse !== undefined,
    principals: ctx.principals,
    usage: ctx.usage,
    statements: ctx.statements,
  };
}

export function statusHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    GetStatus: unary<GetStatusRequest__Output, GridStatus>(
      'GetStatus',
      async (call) => {
        const within = Number(call.request.expiringWithinMs ?? 0) || DEFAULT_EXPIRING_WITHIN_MS;
        if (!Number.isSafeInteger(within) || within > MAX_VALIDITY_MS) throw new InvalidArgumentError(`expiring_within_ms ${call.request.expiringWithinMs} is more than 100 years`);
        const st = await gridStatus(statusSources(ctx), ctx.now(), within);
        const last = st.lastStatement;
        return {
          areaCode: st.areaCode,
          nowMs: st.nowMs,
          directoryFreshnessMs: st.directoryFreshnessMs,
          servers: st.servers.map((v) => ({ ...v, subject: Buffer.from(v.subject) })),
          principals: st.principals,
          nearQuotaRatio: st.nearQuotaRatio,
          nearQuota: st.nearQuota.map((q) => ({ ...q, account: Buffer.from(q.account) })),
          expiringWithinMs: st.expiringWithinMs,
          expiring: st.expiring.map((e) => ({ ...e, subject: Buffer.from(e.subject) })),
          clearinghouseConfigured: st.clearinghouseConfigured,
          statements: st.statements,
          ...(last
            ? { lastStatement: { periodId: last.periodId, body: Buffer.from(last.body), signature: Buffer.from(last.signature), netUnits: last.netUnits, fetchedAtMs: last.fetchedAtMs } }
            : {}),
        };
      },
      log,
    ),

    ListStatements: unary<Empty, ListStatementsResponse>(
      'ListStatements',
      async () => {
        // A period closed a moment ago is listed at once, not at the next poll.
        await ctx.refreshStatements();
        return {
          statements: (await ctx.statements.list()).map((st) => ({
            periodId: st.periodId,
            body: Buffer.from(st.body),
            signature: Buffer.from(st.signature),
            netUnits: st.netUnits,
            fetchedAtMs: st.fetchedAtMs,
          })),
        };
      },
      log,
    ),
  };
}
