/**
 * Long-distance download, the client's side (DESIGN.md "Long-distance
 * download"): the client sends only the verify-cap and the byte range to its
 * own grid's gateway, and checks what comes back exactly as if it had read
 * the shares itself — the UEB against the cap, every ciphertext segment
 * against the ciphertext tree — before it decrypts a byte. The read key never
 * leaves this process.
 */
import { securedClient, type Identity } from '../auth/index.js';
import { formatCap, toVerifyCap, type Cap } from '../caps/index.js';
import { PreconditionError } from '../errors/index.js';
import { MAX_SEGMENT_MESSAGE_BYTES, SegmentStreamChecker, clampRange, rangeToWire, type ByteRange } from '../format/index.js';
import { gatewayProto, fromServiceError } from '../rpc/index.js';
import type { GatewayClient, SegmentChunk__Output } from '../rpc/proto-types.js';
import type { CiphertextSegment, SegmentOptions } from './ciphertext-segment.js';

/** What the client needs to reach its gateway. */
export interface GatewayAccess {
  address: string;
  /** The gateway's identity key: its TLS pin and the target the calls are signed for. */
  publicKey: Uint8Array;
  identity: Identity;
}

/**
 * Verified ciphertext segments of a long-distance file, fetched through the
 * home grid's gateway, in order.
 * @throws PreconditionError when no gateway is configured; IntegrityError for
 *   anything that does not verify; the gateway's own statuses otherwise.
 */
export async function* gatewaySegments(
  gateway: GatewayAccess | undefined,
  cap: Cap,
  range?: ByteRange,
  opts: Pick<SegmentOptions, 'onOpen'> = {},
): AsyncGenerator<CiphertextSegment, void, undefined> {
  const vcap = toVerifyCap(cap);
  if (!gateway) {
    throw new PreconditionError(`this cap is for area code ${vcap.areaCode ?? '?'}: long-distance downloads need a gateway in the client config`);
  }
  const want = clampRange(range, vcap.size);
  if (want.length === 0) return;
  const Gateway = gatewayProto().intergrid.gateway.Gateway;
  // The gateway forwards whole segments: up to the largest segment size plus proof.
  const client = securedClient<GatewayClient>(Gateway, gateway, gateway.identity, {
    channelOptions: { 'grpc.max_receive_message_length': MAX_SEGMENT_MESSAGE_BYTES },
  });
  const peer = `gateway ${gateway.address}`;
  // Only the verify-cap goes on the wire.
  const call = client.Fetch({ verifyCap: formatCap(vcap), ...rangeToWire(want, vcap.size) });
  const checker = new SegmentStreamChecker(vcap, want);
  try {
    for await (const chunk of call as AsyncIterable<SegmentChunk__Output>) {
      const got = checker.accept(chunk);
      if (got.kind === 'ueb') opts.onOpen?.({ layout: got.layout, ueb: got.ueb, uebBytes: got.uebBytes });
      else yield { index: got.index, offset: got.offset, ciphertext: got.ciphertext, proof: got.proof };
    }
    checker.assertComplete();
  } catch (err) {
    throw fromServiceError(err, peer);
  } finally {
    call.cancel();
    client.close();
  }
}
