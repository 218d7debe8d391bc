/**
 * Billing RPC handlers (proto/clearinghouse.proto "metering", "disputes and
 * periods"; docs/billing.md): ReportUsage, ListDisputes, ResolveDispute,
 * ClosePeriod, GetLedger, ListPeriods, GetStatements.
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf, type Principal } from '../../libs/auth/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { InvalidArgumentError, PermissionError } from '../../libs/errors/index.js';
import { unary } from '../../libs/rpc/index.js';
import type { ClosePeriodRequest__Output, Dispute, GetStatementsRequest__Output, LedgerSnapshot, ListDisputesRequest__Output, ListDisputesResponse, ListPeriodsResponse, PeriodInfo, PeriodStatements, RecordResult, ReportUsageRequest__Output, ReportUsageResponse, ResolveDisputeRequest__Output, Empty } from '../../libs/rpc/proto-types.js';
import type { ClearinghouseConfig } from './config.js';
import type { LedgerStore, IngestRecord, DisputeResolution } from './ledger-store.js';
import { DISPUTE_RESOLUTIONS } from './ledger-store.js';
import type { DisputeRow, PeriodRow } from './ledger-rows.js';
import type { PeriodStore } from './period-store.js';
import type { RecordOpener } from './verify-pool.js';
import { recordProblem, type Reporter } from './usage-check.js';
import { isApprovedGateway } from './caller-rules.js';

/** Most records in one ReportUsage request. */
export const MAX_RECORDS_PER_REPORT = 1000;

export interface LedgerContext {
  config: ClearinghouseConfig;
  ledger: LedgerStore;
  periods: PeriodStore;
  opener: RecordOpener;
  now(): number;
  /**
   * Test hook (crash tests): wait this long between the commit and the
   * reply, so a kill lands between storing a record and acknowledging it.
   * config.testAckDelayMs (the environment variable INTERGRID_TEST_ACK_DELAY_MS, read by loadClearinghouseConfig); 0 otherwise.
   */
  ackDelayMs?: number;
  onInternal?(err: unknown, method: string): void;
}

function disputeMessage(d: DisputeRow): Dispute {
  return {
    id: d.id,
    transferId: d.transfer_id,
    exporter: d.exporter,
    importer: d.importer,
    reason: d.reason,
    detail: d.detail,
    hasServed: d.served_bytes !== null,
    servedBytes: d.served_bytes ?? 0,
    hasReceipt: d.receipt_bytes !== null,
    receiptBytes: d.receipt_bytes ?? 0,
    priceUnitsPerGib: d.price_units_per_gib,
    openedAtMs: d.opened_at_ms,
    state: d.state,
    resolution: d.resolution ?? '',
    postedUnits: d.posted_units ?? 0,
    resolvedAtMs: d.resolved_at_ms ?? 0,
    note: d.note ?? '',
  };
}

function periodMessage(p: PeriodRow): PeriodInfo {
  return { id: p.id, fromMs: p.from_ms, toMs: p.to_ms, closedAtMs: p.closed_at_ms, grids: p.grids, transfers: p.transfers };
}

/** The billing handlers, keyed by proto method name (merged into the service by handlers.ts). */
export function ledgerHandlers(ctx: LedgerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;

  async function reporterOf(p: Principal, now: number): Promise<Reporter> {
    const key = toHex(p.publicKey);
    // The policy (server.ts) admitted a contact point as one of p.grid (caller-rules.ts checkGridMember).
    if (p.role === 'contact-point') return { role: 'contact-point', key, areaCode: p.grid };
    if (p.role === 'gateway-approval') {
      // The approval the gateway presents is itself proof: remember it (covers approvals issued before billing existed).
      await ctx.ledger.recordApproval(key, p.grid, p.certificate.notBefore, p.certificate.notAfter, now);
      return { role: 'gateway', key, areaCode: p.grid };
    }
    throw new PermissionError(`role '${p.role}' may not report usage`);
  }

  return {
    ReportUsage: unary<ReportUsageRequest__Output, ReportUsageResponse>(
      'ReportUsage',
      async (call) => {
        const now = ctx.now();
        const reporter = await reporterOf(principalOf(call), now);
        const raws = call.request.records ?? [];
        if (raws.length > MAX_RECORDS_PER_REPORT) throw new InvalidArgumentError(`${raws.length} records in one report, at most ${MAX_RECORDS_PER_REPORT}`);
        const empty = new Uint8Array(0);
        const records = raws.map((r) => ({ kind: r.kind ?? '', body: r.body ?? empty, signature: r.signature ?? empty }));
        const opened = await ctx.opener.openAll(records);
        const results: RecordResult[] = new Array<RecordResult>(raws.length);
        const valid: IngestRecord[] = [];
        const validIndex: number[] = [];
        const slack = ctx.config.maxClockSkewMs;
        const approved = (gw: string, area: string, at: number) => isApprovedGateway(ctx.ledger, gw, area, at, slack);
        opened.forEach((o, index) => {
          if (!o.ok) {
            results[index] = { index, recordId: o.recordId, outcome: 'REJECTED', message: o.message };
            return;
          }
          const problem = recordProblem(o.record, reporter, approved);
          if (problem) {
            results[index] = { index, recordId: o.record.recordId, outcome: 'REJECTED', message: problem };
            return;
          }
          const raw = records[index]!;
          valid.push({ ...o.record, body: raw.body, signature: raw.signature, reporterKey: reporter.key });
          validIndex.push(index);
        });
        const outcomes = await ctx.ledger.ingest(valid, now);
        if (ctx.ackDelayMs) await new Promise((resolve) => setTimeout(resolve, ctx.ackDelayMs));
        outcomes.forEach((o, j) => {
          const index = validIndex[j]!;
          results[index] = { index, recordId: valid[j]!.recordId, outcome: o.outcome, message: o.outcome === 'REJECTED' ? o.message : '' };
        });
        return { results };
      },
      log,
    ),

    ListDisputes: unary<ListDisputesRequest__Output, ListDisputesResponse>(
      'ListDisputes',
      async (call) => ({ disputes: (await ctx.ledger.listDisputes(Boolean(call.request.includeResolved))).map(disputeMessage) }),
      log,
    ),

    ResolveDispute: unary<ResolveDisputeRequest__Output, Dispute>(
      'ResolveDispute',
      async (call) => {
        const id = Number(call.request.id ?? 0);
        if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`dispute id ${String(call.request.id)} is not a positive integer`);
        const resolution = call.request.resolution ?? '';
        if (!DISPUTE_RESOLUTIONS.includes(resolution as DisputeResolution)) {
          throw new InvalidArgumentError(`resolution '${resolution.slice(0, 30)}' is not one of ${DISPUTE_RESOLUTIONS.join(', ')}`);
        }
        const note = call.request.note ?? ''; // cut to MAX_DETAIL by the store (libs/ledger disputeDetail)
        return disputeMessage(await ctx.ledger.resolveDispute(id, resolution as DisputeResolution, note, ctx.now()));
      },
      log,
    ),

    ClosePeriod: unary<ClosePeriodRequest__Output, PeriodInfo>(
      'ClosePeriod',
      async (call) => {
        const requested = call.request.periodId ?? '';
        const p = await ctx.periods.close(requested === '' ? undefined : requested, ctx.now(), ctx.config.unmatchedGraceMs);
        return periodMessage(p);
      },
      log,
    ),

    GetLedger: unary<Empty, LedgerSnapshot>(
      'GetLedger',
      async () => {
        const s = await ctx.ledger.snapshot();
        return { openFromMs: s.openFromMs, pairs: s.pairs, pendingRecords: s.pendingRecords, openDisputes: s.openDisputes, records: s.records };
      },
      log,
    ),

    ListPeriods: unary<Empty, ListPeriodsResponse>(
      'ListPeriods',
      // A grid admin was admitted as one of its grid by the policy (server.ts).
      async () => ({ periods: (await ctx.periods.list()).map(periodMessage) }),
      log,
    ),

    GetStatements: unary<GetStatementsRequest__Output, PeriodStatements>(
      'GetStatements',
      async (call) => {
        const p = principalOf(call);
        // A grid admin (admitted as one of p.grid by the policy, server.ts) sees its own grid's statements only.
        const onlyArea = p.role === 'admin' ? p.grid : undefined;
        const requested = call.request.periodId ?? '';
        const s = await ctx.periods.statements(requested === '' ? undefined : requested, onlyArea);
        const signed = (x: { body: Uint8Array; signature: Uint8Array }) => ({ body: Buffer.from(x.body), signature: Buffer.from(x.signature) });
        return { period: periodMessage(s.period), summary: signed(s.summary), statements: s.statements.map(signed) };
      },
      log,
    ),
  };
}
