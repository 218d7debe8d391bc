/**
 * Storage usage (proto/grid_manager.proto): storage servers report what each
 * account stores on them (ReportUsage); admins read the per-account totals
 * with their quotas, and the long-distance transfers the gateways reported
 * over NATS (GetUsage).
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf } from '../../libs/auth/index.js';
import { shortKey, toHex } from '../../libs/crypto/index.js';
import { PermissionError } from '../../libs/errors/index.js';
import type { Empty, UsageReport__Output, UsageSummary } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import { type GridManagerContext } from './handler-context.js';

export function usageHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    ReportUsage: unary<UsageReport__Output, Empty>(
      'ReportUsage',
      async (call) => {
        const server = principalOf(call).publicKey;
        // Only approved, unrevoked storage servers' reports count (the auth
        // check already refused revoked keys; this refuses unknown ones).
        const rec = await ctx.principals.get(server, 'storage-server');
        if (!rec) throw new PermissionError(`key ${shortKey(server)} is not an approved storage server of this grid`);
        const req = call.request;
        await ctx.usage.report(
          server,
          {
            reportId: req.reportId ?? '',
            atMs: Number(req.atMs ?? 0),
            accounts: (req.accounts ?? []).map((a) => ({ account: new Uint8Array(a.account ?? []), bytesStored: Number(a.bytesStored ?? 0), shares: Number(a.shares ?? 0) })),
          },
          ctx.now(),
        );
        return {};
      },
      log,
    ),

    GetUsage: unary<Empty, UsageSummary>(
      'GetUsage',
      async () => {
        const [tally, clients, transferLines] = await Promise.all([ctx.usage.tally(), ctx.principals.clients(), ctx.transfers.list()]);
        const byAccount = new Map(clients.map((c) => [toHex(c.subject), c]));
        const seen = new Set<string>();
        const accounts = tally.map((t) => {
          const hex = toHex(t.account);
          seen.add(hex);
          const c = byAccount.get(hex);
          return { account: Buffer.from(t.account), name: c?.name ?? '', bytesStored: t.bytesStored, shares: t.shares, quotaBytes: c?.quotaBytes ?? 0 };
        });
        // Approved clients with nothing stored yet are listed too, at zero.
        for (const c of clients) {
          if (!seen.has(toHex(c.subject))) {
            accounts.push({ account: Buffer.from(c.subject), name: c.name, bytesStored: 0, shares: 0, quotaBytes: c.quotaBytes });
          }
        }
        const transfers = transferLines.map((t) => ({
          account: Buffer.from(t.account),
          name: byAccount.get(toHex(t.account))?.name ?? '',
          remoteAreaCode: t.remoteAreaCode,
          bytes: t.bytes,
          transfers: t.transfers,
          units: t.units,
        }));
        return { accounts, transfers };
      },
      log,
    ),
  };
}
