/**
 * Bytes served, counted in memory for the billing issue (DESIGN.md
 * "Metering and billing"). What is counted is exactly what the gateway
 * receives as ciphertext: the ciphertext bytes of each verified segment
 * handed to gRPC (the UEB and proof nodes are not counted).
 *
 * Transfers are keyed by (gateway key, transfer id): the id is the
 * gateway's choice, so one gateway cannot add bytes to another's transfer.
 * A gateway that retries with the same id on this contact point adds to the
 * same record (the bytes did cross twice). Finished transfers beyond
 * `maxTransfers` are forgotten oldest first; per-gateway totals never are.
 */
import { toHex } from '../../libs/crypto/index.js';

export type TransferState = 'open' | 'done' | 'cancelled' | 'failed';

/** One FetchSegments call (or several with the same id from the same gateway). */
export interface TransferRecord {
  transferId: string;
  /** Gateway public key, hex. */
  gateway: string;
  /** The gateway's area code (from its gateway-approval certificate). */
  gatewayGrid: string;
  /** Storage index of the file, hex. */
  storageIndex: string;
  bytes: number;
  segments: number;
  startedAtMs: number;
  endedAtMs?: number;
  state: TransferState;
}

/** Totals per gateway. */
export interface GatewayTotal {
  gateway: string;
  gatewayGrid: string;
  bytes: number;
  segments: number;
  transfers: number;
}

export class TransferMeter {
  private readonly transfers = new Map<string, TransferRecord>();
  private readonly gateways = new Map<string, GatewayTotal>();

  constructor(
    private readonly maxTransfers = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens (or reopens) the record of a transfer. */
  begin(input: { transferId: string; gateway: Uint8Array; gatewayGrid: string; storageIndex: Uint8Array }): TransferRecord {
    const gateway = toHex(input.gateway);
    const key = `${gateway}/${input.transferId}`;
    let rec = this.transfers.get(key);
    if (rec) {
      rec.state = 'open';
      delete rec.endedAtMs;
      // Move to the back: recently used records are the last forgotten.
      this.transfers.delete(key);
    } else {
      rec = { transferId: input.transferId, gateway, gatewayGrid: input.gatewayGrid, storageIndex: toHex(input.storageIndex), bytes: 0, segments: 0, startedAtMs: this.now(), state: 'open' };
    }
    this.transfers.set(key, rec);
    const total = this.gatewayTotal(gateway, input.gatewayGrid);
    total.transfers++;
    this.evict();
    return rec;
  }

  /** Counts one forwarded segment. */
  count(rec: TransferRecord, ciphertextBytes: number): void {
    rec.bytes += ciphertextBytes;
    rec.segments++;
    const total = this.gatewayTotal(rec.gateway, rec.gatewayGrid);
    total.bytes += ciphertextBytes;
    total.segments++;
  }

  end(rec: TransferRecord, state: Exclude<TransferState, 'open'>): void {
    rec.state = state;
    rec.endedAtMs = this.now();
  }

  /** The record of a transfer by its id (and gateway key, hex, when ids may collide across gateways). */
  transfer(transferId: string, gateway?: string): TransferRecord | undefined {
    if (gateway !== undefined) return copy(this.transfers.get(`${gateway}/${transferId}`));
    for (const rec of this.transfers.values()) if (rec.transferId === transferId) return copy(rec);
    return undefined;
  }

  /** Every remembered transfer, oldest first (copies). */
  listTransfers(): TransferRecord[] {
    return [...this.transfers.values()].map((r) => ({ ...r }));
  }

  /** Totals per gateway (copies). */
  byGateway(): GatewayTotal[] {
    return [...this.gateways.values()].map((g) => ({ ...g }));
  }

  /** Bytes served to all gateways. */
  totalBytes(): number {
    let n = 0;
    for (const g of this.gateways.values()) n += g.bytes;
    return n;
  }

  private gatewayTotal(gateway: string, gatewayGrid: string): GatewayTotal {
    let t = this.gateways.get(gateway);
    if (!t) {
      t = { gateway, gatewayGrid, bytes: 0, segments: 0, transfers: 0 };
      this.gateways.set(gateway, t);
    }
    return t;
  }

  private evict(): void {
    if (this.transfers.size <= this.maxTransfers) return;
    for (const [key, rec] of this.transfers) {
      if (this.transfers.size <= this.maxTransfers) break;
      if (rec.state !== 'open') this.transfers.delete(key);
    }
  }
}

function copy(rec: TransferRecord | undefined): TransferRecord | undefined {
  return rec ? { ...rec } : undefined;
}
