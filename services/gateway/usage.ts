/**
 * The gateway's meter: ciphertext bytes verified and forwarded, per (client
 * key, remote area code). In memory for now; the billing issue persists these
 * lines and turns them into signed receipts and usage records.
 *
 * Only bytes that passed verifyCiphertextSegment and were handed to the
 * client's stream are counted (DESIGN.md "Metered bytes"), so a corrupt
 * segment from a contact point is never billed to anyone.
 */
import { toHex, fromHex } from '../../libs/crypto/index.js';
import { assertBytes, assertInt } from '../../libs/errors/index.js';

/** One meter line. */
export interface UsageLine {
  /** The client's public key. */
  client: Uint8Array;
  remoteAreaCode: string;
  /** Ciphertext bytes verified and forwarded to this client from that grid. */
  verifiedBytes: number;
  /** Fetches started (after the price check passed). */
  transfers: number;
  /** The remote grid's price in effect at the last transfer. */
  priceUnitsPerGib: number;
}

interface Counter {
  verifiedBytes: number;
  transfers: number;
  priceUnitsPerGib: number;
}

/** In-memory usage counters (one gateway process). */
export class UsageMeter {
  private readonly lines = new Map<string, Counter>();

  private key(client: Uint8Array, area: string): string {
    assertBytes('client key', client, 32);
    return `${toHex(client)}/${area}`;
  }

  private counter(client: Uint8Array, area: string): Counter {
    const k = this.key(client, area);
    let c = this.lines.get(k);
    if (!c) {
      c = { verifiedBytes: 0, transfers: 0, priceUnitsPerGib: 0 };
      this.lines.set(k, c);
    }
    return c;
  }

  /** Records the start of a transfer at `priceUnitsPerGib` (the price the gateway accepted). */
  startTransfer(client: Uint8Array, remoteAreaCode: string, priceUnitsPerGib: number): void {
    assertInt('priceUnitsPerGib', priceUnitsPerGib, 0);
    const c = this.counter(client, remoteAreaCode);
    c.transfers += 1;
    c.priceUnitsPerGib = priceUnitsPerGib;
  }

  /** Adds `bytes` verified ciphertext bytes forwarded to `client`. */
  addVerifiedBytes(client: Uint8Array, remoteAreaCode: string, bytes: number): void {
    assertInt('bytes', bytes, 0);
    this.counter(client, remoteAreaCode).verifiedBytes += bytes;
  }

  /** Every line, sorted by client then area code (stable output for GetUsage). */
  snapshot(): UsageLine[] {
    return [...this.lines.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, c]) => {
        const [client, area] = k.split('/') as [string, string];
        return { client: fromHex(client, 'client', 32), remoteAreaCode: area, ...c };
      });
  }
}
