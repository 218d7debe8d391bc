/**
 * The server directory (proto/grid_manager.proto): storage servers announce
 * their address (AnnounceServer); anyone in the grid reads the signed list of
 * servers that announced recently with an unexpired certificate (GetDirectory).
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf } from '../../libs/auth/index.js';
import { dialAddressField } from '../../libs/errors/index.js';
import { signDirectory } from '../../libs/grid/index.js';
import type { AnnounceServerRequest__Output, Empty, SignedDirectory } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import { type GridManagerContext } from './handler-context.js';

export function directoryHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    GetDirectory: unary<Empty, SignedDirectory>(
      'GetDirectory',
      async () => {
        const now = ctx.now();
        const records = await ctx.servers.directoryServers(now, now - ctx.config.directoryFreshnessMs);
        const signed = signDirectory(
          {
            areaCode: ctx.config.areaCode,
            issuedAtMs: now,
            servers: records.map((r) => ({ name: r.name, publicKey: r.subject, address: r.address!, certificateNotAfterMs: r.certNotAfterMs })),
          },
          ctx.gridKey,
        );
        return { body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) };
      },
      log,
    ),

    AnnounceServer: unary<AnnounceServerRequest__Output, Empty>(
      'AnnounceServer',
      async (call) => {
        const address = dialAddressField(call.request.address);
        await ctx.servers.announce(principalOf(call).publicKey, address, ctx.now());
        return {};
      },
      log,
    ),
  };
}
