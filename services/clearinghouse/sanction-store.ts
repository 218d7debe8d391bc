/**
 * The sanctions log: every suspension, reinstatement and revoked gateway
 * approval, append-only with a serial seq, so contact points can poll what
 * changed since the last seq they applied (ListSanctions) and refuse a
 * suspended grid's gateways or a revoked gateway key without asking on every
 * call. A suspension is appended in the same transaction as the grid row's
 * change (grid-store.ts), so the log and the grids never disagree.
 *
 * Revoked gateway keys are also held in memory: Resolve and ApproveGateway
 * ask on every call.
 */
import type { Knex } from 'knex';
import { lockForAppend } from '../../libs/db/index.js';
import { fromHex, toHex } from '../../libs/crypto/index.js';
import { assertBytes } from '../../libs/errors/index.js';
import { LEDGER_TABLES } from './ledger-schema.js';

export const SANCTIONS_TABLE = 'ch_sanctions';
/** Most sanctions one ListSanctions answer carries. */
export const SANCTIONS_PAGE = 1000;

export type SanctionKind = 'suspend' | 'reinstate' | 'revoke-gateway';

export interface Sanction {
  seq: number;
  kind: SanctionKind;
  areaCode: string;
  /** revoke-gateway only. */
  gatewayPublicKey?: Uint8Array;
  atMs: number;
}

type Row = { seq: number | string; kind: SanctionKind; area_code: string; gateway_key: string; at_ms: number | string };

/** Creates the log and enters the grids already suspended (migration 004). */
export async function createSanctionsTable(knex: Knex): Promise<void> {
  await knex.schema.createTable(SANCTIONS_TABLE, (t) => {
    t.increments('seq').primary();
    t.string('kind', 16).notNullable();
    t.string('area_code', 8).notNullable().defaultTo('');
    t.string('gateway_key', 64).notNullable().defaultTo('');
    t.bigInteger('at_ms').notNullable();
    t.index(['kind', 'gateway_key']);
  });
  const suspended: { area_code: string; updated_at_ms: number | string }[] = await knex('ch_grids').where({ suspended: true }).select('area_code', 'updated_at_ms');
  for (const g of suspended) await knex(SANCTIONS_TABLE).insert({ kind: 'suspend', area_code: g.area_code, gateway_key: '', at_ms: Number(g.updated_at_ms) });
}

/** Appends one sanction inside the caller's transaction (serialised on PostgreSQL, so readers paging by seq miss none). */
export async function appendSanction(trx: Knex.Transaction, s: { kind: SanctionKind; areaCode: string; gatewayKey?: string; atMs: number }): Promise<void> {
  await lockForAppend(trx, SANCTIONS_TABLE);
  await trx(SANCTIONS_TABLE).insert({ kind: s.kind, area_code: s.areaCode, gateway_key: s.gatewayKey ?? '', at_ms: s.atMs });
}

export class SanctionStore {
  /** Revoked gateway keys, hex. */
  private readonly revoked = new Set<string>();

  private constructor(private readonly knex: Knex) {}

  static async open(knex: Knex): Promise<SanctionStore> {
    const store = new SanctionStore(knex);
    const rows: { gateway_key: string }[] = await knex(SANCTIONS_TABLE).where({ kind: 'revoke-gateway' }).select('gateway_key');
    for (const r of rows) store.revoked.add(r.gateway_key);
    return store;
  }

  /** True when every approval of `gatewayKey` was revoked (synchronous). */
  isGatewayRevoked(gatewayKey: Uint8Array): boolean {
    return this.revoked.has(toHex(gatewayKey));
  }

  /**
   * Revokes a gateway key (idempotent: a second revocation appends nothing).
   * Its grid is taken from the approvals issued for it ('' when none was).
   */
  async revokeGateway(gatewayKey: Uint8Array, now: number): Promise<void> {
    assertBytes('gateway public key', gatewayKey, 32);
    const key = toHex(gatewayKey);
    await this.knex.transaction(async (trx) => {
      await lockForAppend(trx, SANCTIONS_TABLE);
      const already = await trx(SANCTIONS_TABLE).where({ kind: 'revoke-gateway', gateway_key: key }).first();
      if (already) return;
      const approval: { area_code: string } | undefined = await trx(LEDGER_TABLES.approvals).where({ gateway_key: key }).orderBy('not_after_ms', 'desc').first();
      await appendSanction(trx, { kind: 'revoke-gateway', areaCode: approval?.area_code ?? '', gatewayKey: key, atMs: now });
    });
    this.revoked.add(key);
  }

  /**
   * Sanctions after `sinceSeq`, oldest first, at most SANCTIONS_PAGE;
   * `latestSeq` is the newest in the log when this was read. The newest seq
   * is read first and the page stops at it: a sanction appended between the
   * two reads is left for the next poll, never skipped by a reader that moves
   * its cursor to `latestSeq` (appends are serialised, so every seq up to it
   * is committed).
   */
  async since(sinceSeq: number): Promise<{ sanctions: Sanction[]; latestSeq: number; more: boolean }> {
    const last = (await this.knex(SANCTIONS_TABLE).max({ seq: 'seq' }).first()) as { seq?: number | string | null } | undefined;
    const latestSeq = Number(last?.seq ?? 0);
    const rows: Row[] = await this.knex(SANCTIONS_TABLE).where('seq', '>', sinceSeq).andWhere('seq', '<=', latestSeq).orderBy('seq').limit(SANCTIONS_PAGE + 1);
    const more = rows.length > SANCTIONS_PAGE;
    const page = rows.slice(0, SANCTIONS_PAGE);
    return {
      sanctions: page.map((r) => ({
        seq: Number(r.seq),
        kind: r.kind,
        areaCode: r.area_code,
        ...(r.gateway_key ? { gatewayPublicKey: fromHex(r.gateway_key, 'stored sanction gateway key', 32) } : {}),
        atMs: Number(r.at_ms),
      })),
      latestSeq,
      more,
    };
  }
}
