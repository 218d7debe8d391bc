/**
 * The per-client usage event (docs/events.md "Event format"): one per
 * long-distance transfer a client of this grid received, published by the
 * gateway on CLIENT_USAGE_SUBJECT with JetStream msgID = eventId and tallied
 * by the grid manager per (client account, remote area code).
 *
 * The event: UTF-8 JSON of the object below, version 1. Unknown fields are
 * rejected, so a change of shape is a new version, never a silent one.
 *
 * Wire form on NATS: the event signed by the gateway's key (libs/auth
 * signDocument, tag CLIENT_USAGE_EVENT_TAG), as UTF-8 JSON
 * {"body": base64 event, "signature": base64, "signer": hex gateway key}.
 * Anyone who can publish on the grid's NATS could otherwise bill any client:
 * the grid manager tallies an event only when the signature verifies and the
 * signer is a gateway it approved (services/grid-manager/usage-events.ts).
 */
import { z } from 'zod';
import { areaCodeSchema } from '../caps/index.js';
import { openDocument, signDocument } from '../auth/index.js';
import { fromHex, toHex, type KeyPair } from '../crypto/index.js';
import { IntegrityError, LayoutInvalidError, InvalidArgumentError } from '../errors/index.js';
import { costOf, MAX_TRANSFER_ID_LENGTH } from '../ledger/index.js';

/** Signature tag of a client usage event (libs/auth signDocument). */
export const CLIENT_USAGE_EVENT_TAG = 'intergrid:client-usage-event:v1';

/** Current event version. */
export const CLIENT_USAGE_EVENT_VERSION = 1;

/** Longest eventId accepted ('use-' + a transfer id). */
export const MAX_EVENT_ID_LENGTH = MAX_TRANSFER_ID_LENGTH + 4;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const id = (max: number) => z.string().regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces').min(1).max(max);

const clientUsageEventSchema = z
  .object({
    version: z.literal(CLIENT_USAGE_EVENT_VERSION),
    /** Unique per event; also the JetStream msgID and the grid manager's processed-table key. */
    eventId: id(MAX_EVENT_ID_LENGTH),
    transferId: id(MAX_TRANSFER_ID_LENGTH),
    /** The client's public key (64 lowercase hex): the account tallied. */
    client: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
    /** Area code of the grid the bytes came from. */
    remoteAreaCode: areaCodeSchema,
    /** Verified ciphertext bytes of the transfer. */
    bytes: count,
    /** The exporter's price used for the transfer, units per GiB. */
    priceUnitsPerGib: count,
    /** costOf(bytes, priceUnitsPerGib) (libs/ledger). */
    units: count,
    /** When the gateway recorded the transfer (Unix ms). */
    atMs: count,
  })
  .strict();

/** A per-client usage event (version 1). */
export type ClientUsageEvent = z.infer<typeof clientUsageEventSchema>;

/** The event's id for a transfer: 'use-' + transferId (one event per transfer attempt). */
export function clientUsageEventId(transferId: string): string {
  return `use-${transferId}`;
}

function check(value: unknown): ClientUsageEvent {
  const r = clientUsageEventSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(event)';
    throw new LayoutInvalidError(`client usage event: ${field}: ${issue.message}`);
  }
  const e = r.data;
  let expected: number;
  try {
    expected = costOf(e.bytes, e.priceUnitsPerGib);
  } catch (err) {
    throw new LayoutInvalidError(`client usage event ${e.eventId}: ${(err as Error).message}`, { cause: err });
  }
  if (e.units !== expected) {
    throw new LayoutInvalidError(
      `client usage event ${e.eventId}: units ${e.units} != costOf(${e.bytes} bytes, ${e.priceUnitsPerGib} units/GiB) = ${expected}`,
    );
  }
  return e;
}

/**
 * Encodes an event as UTF-8 JSON after checking it.
 * @example encodeClientUsageEvent({ version: 1, eventId: 'use-t1', transferId: 't1', client: 'ab…', remoteAreaCode: '101', bytes: 2 ** 30, priceUnitsPerGib: 5, units: 5, atMs: 1 })
 * @throws InvalidArgumentError naming the field when the event is malformed
 *   (e.g. units differ from costOf(bytes, priceUnitsPerGib)).
 */
export function encodeClientUsageEvent(e: ClientUsageEvent): Uint8Array {
  let checked: ClientUsageEvent;
  try {
    checked = check(e);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { cause: err });
  }
  const ordered: ClientUsageEvent = {
    version: checked.version,
    eventId: checked.eventId,
    transferId: checked.transferId,
    client: checked.client,
    remoteAreaCode: checked.remoteAreaCode,
    bytes: checked.bytes,
    priceUnitsPerGib: checked.priceUnitsPerGib,
    units: checked.units,
    atMs: checked.atMs,
  };
  return new TextEncoder().encode(JSON.stringify(ordered));
}

/**
 * Parses and checks an event received from NATS.
 * @throws LayoutInvalidError naming the field: not UTF-8 JSON, unknown or
 *   missing field, wrong type, unsafe integer, or units != costOf(bytes, price).
 */
export function parseClientUsageEvent(bytes: Uint8Array): ClientUsageEvent {
  if (!(bytes instanceof Uint8Array)) throw new LayoutInvalidError('client usage event must be bytes');
  if (bytes.length > 4096) throw new LayoutInvalidError(`client usage event is ${bytes.length} bytes, at most 4096`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new LayoutInvalidError(`client usage event is not UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
  return check(value);
}

/** A signed event as received: the event, and the key that signed it (still to be checked against the grid's gateways). */
export interface SignedClientUsageEvent {
  event: ClientUsageEvent;
  signer: Uint8Array;
}

const envelopeSchema = z
  .object({
    body: z.string().min(1).max(8192),
    signature: z.string().min(1).max(200),
    signer: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
  })
  .strict();

/**
 * Encodes and signs an event with the gateway's key (the NATS wire form).
 * @throws InvalidArgumentError as encodeClientUsageEvent.
 */
export function signClientUsageEvent(e: ClientUsageEvent, gatewayKey: KeyPair): Uint8Array {
  const signed = signDocument(CLIENT_USAGE_EVENT_TAG, encodeClientUsageEvent(e), gatewayKey);
  const envelope = {
    body: Buffer.from(signed.body).toString('base64'),
    signature: Buffer.from(signed.signature).toString('base64'),
    signer: toHex(gatewayKey.publicKey),
  };
  return new TextEncoder().encode(JSON.stringify(envelope));
}

/**
 * Parses a signed event from NATS and verifies its signature under the key
 * it names. The caller decides whether it trusts that key.
 * @throws LayoutInvalidError for anything that is not a signed event (an
 *   unsigned version-1 event included) or a malformed event inside;
 *   IntegrityError when the signature does not verify (forged or altered).
 */
export function openSignedClientUsageEvent(bytes: Uint8Array): SignedClientUsageEvent {
  if (!(bytes instanceof Uint8Array)) throw new LayoutInvalidError('client usage event must be bytes');
  if (bytes.length > 16384) throw new LayoutInvalidError(`signed client usage event is ${bytes.length} bytes, at most 16384`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new LayoutInvalidError(`client usage event is not UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = envelopeSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new LayoutInvalidError(`client usage event is not signed (expected {body, signature, signer}): ${issue.path.join('.') || '(event)'}: ${issue.message}`);
  }
  const signer = fromHex(r.data.signer, 'signer', 32);
  const body = new Uint8Array(Buffer.from(r.data.body, 'base64'));
  const signature = new Uint8Array(Buffer.from(r.data.signature, 'base64'));
  try {
    openDocument(CLIENT_USAGE_EVENT_TAG, body, signature, signer);
  } catch (err) {
    if (err instanceof IntegrityError) throw new IntegrityError(`client usage event: signature by ${r.data.signer.slice(0, 8)} does not verify`, { cause: err });
    throw err;
  }
  return { event: parseClientUsageEvent(body), signer };
}
