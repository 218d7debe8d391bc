/**
 * Fixtures for contact point tests against the real service: a signed
 * ContactPoint client for a gateway identity, and one call of each RPC
 * resolved to its outcome (never rejected), so a test asserts on the status.
 */
import * as grpc from '@grpc/grpc-js';
import { securedClient, type Identity, type Peer } from '../../../libs/auth/index.js';
import { contactPointProto } from '../../../libs/rpc/index.js';
import type { ContactPointClient, FetchSegmentsRequest, SegmentChunk__Output } from '../../../libs/rpc/proto-types.js';
import { CONTACT_POINT_MESSAGE_LIMIT } from '../../../services/contact-point/index.js';

/** A ContactPoint client signing as `identity` (close it when done). */
export function contactPointClient(contactPoint: Peer, identity: Identity): ContactPointClient {
  const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
  return securedClient<ContactPointClient>(Ctor, contactPoint, identity, { channelOptions: { 'grpc.max_receive_message_length': CONTACT_POINT_MESSAGE_LIMIT } });
}

/** One FetchSegments call: the chunks received and the error that ended it, if any. */
export function fetchSegments(client: ContactPointClient, req: FetchSegmentsRequest): Promise<{ chunks: SegmentChunk__Output[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const chunks: SegmentChunk__Output[] = [];
    const call = client.FetchSegments(req);
    call.on('data', (c: SegmentChunk__Output) => chunks.push(c));
    call.on('error', (error: grpc.ServiceError) => resolve({ chunks, error }));
    call.on('end', () => resolve({ chunks }));
  });
}

/** One SubmitReceipt call; resolves with the error, or undefined on success. */
export function submitReceipt(client: ContactPointClient, body: Uint8Array, signature: Uint8Array): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client.SubmitReceipt({ body: Buffer.from(body), signature: Buffer.from(signature) }, (err: grpc.ServiceError | null) => resolve(err ?? undefined));
  });
}
