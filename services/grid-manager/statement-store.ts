/**
 * The settlement statements this grid manager fetched from the clearinghouse
 * and verified (statement-sync.ts). One row per closed period: this grid's
 * own signed statement (empty when the grid had no traffic in the period)
 * and the signed summary it was checked against. Only verified statements
 * are ever stored.
 */
import type { Knex } from 'knex';

const STATEMENTS = 'gm_statements';

/** Creates the table; called from migrations.ts. */
export async function createStatementTable(knex: Knex): Promise<void> {
  await knex.schema.createTable(STATEMENTS, (t) => {
    t.string('period_id', 64).notNullable().primary();
    /** This grid's statement body (canonical JSON) and signature (hex); empty when it had no traffic. */
    t.text('body').notNullable();
    t.string('signature', 128).notNullable();
    t.text('summary_body').notNullable();
    t.string('summary_signature', 128).notNullable();
    t.bigInteger('net_units').notNullable();
    t.bigInteger('period_to_ms').notNullable();
    t.bigInteger('fetched_at_ms').notNullable();
  });
}

/** A stored, verified statement. */
export interface StoredStatement {
  periodId: string;
  /** This grid's signed statement; body and signature are empty when it had no traffic. */
  body: Uint8Array;
  signature: Uint8Array;
  summaryBody: Uint8Array;
  summarySignature: Uint8Array;
  /** + this grid is owed, − it owes. */
  netUnits: number;
  periodToMs: number;
  fetchedAtMs: number;
}

interface Row {
  period_id: string;
  body: string;
  signature: string;
  summary_body: string;
  summary_signature: string;
  net_units: number | string;
  period_to_ms: number | string;
  fetched_at_ms: number | string;
}

const utf8 = new TextEncoder();

export class StatementStore {
  constructor(private readonly knex: Knex) {}

  /** Periods already stored. */
  async periodIds(): Promise<Set<string>> {
    const rows: { period_id: string }[] = await this.knex(STATEMENTS).select('period_id');
    return new Set(rows.map((r) => r.period_id));
  }

  /** Stores a verified statement; a period already stored is left as it was (the clearinghouse never changes a closed period). */
  async save(s: StoredStatement): Promise<void> {
    await this.knex(STATEMENTS)
      .insert({
        period_id: s.periodId,
        body: new TextDecoder().decode(s.body),
        signature: Buffer.from(s.signature).toString('hex'),
        summary_body: new TextDecoder().decode(s.summaryBody),
        summary_signature: Buffer.from(s.summarySignature).toString('hex'),
        net_units: s.netUnits,
        period_to_ms: s.periodToMs,
        fetched_at_ms: s.fetchedAtMs,
      })
      .onConflict('period_id')
      .ignore();
  }

  /** Every stored statement, oldest period first. */
  async list(): Promise<StoredStatement[]> {
    const rows: Row[] = await this.knex(STATEMENTS).select('*').orderBy([{ column: 'period_to_ms' }, { column: 'period_id' }]);
    return rows.map((r) => ({
      periodId: r.period_id,
      body: utf8.encode(r.body),
      signature: Buffer.from(r.signature, 'hex'),
      summaryBody: utf8.encode(r.summary_body),
      summarySignature: Buffer.from(r.summary_signature, 'hex'),
      netUnits: Number(r.net_units),
      periodToMs: Number(r.period_to_ms),
      fetchedAtMs: Number(r.fetched_at_ms),
    }));
  }
}
