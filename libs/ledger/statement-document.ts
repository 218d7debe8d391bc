/**
 * Signed statements: a GridStatementBody or SummaryBody as canonical JSON
 * (libs/auth signJson), signed by the clearinghouse key under STATEMENT_TAG
 * ('intergrid:statement:v1'). A grid manager opens its statement with the
 * clearinghouse key from its own config, never one carried by the message.
 */
import { z } from 'zod';
import { signJson, openJson, type SignedDocument } from '../auth/index.js';
import { areaCodeSchema as areaCode } from '../caps/index.js';
import type { KeyPair } from '../crypto/index.js';
import { LayoutInvalidError, assertBytes } from '../errors/index.js';
import { STATEMENT_TAG, STATEMENT_VERSION, type GridStatementBody, type StatementBody, type SummaryBody } from './statement.js';

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const signedInt = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const period = z.object({ id: z.string().min(1).max(100), fromMs: safeInt, toMs: safeInt }).strict();

const gridSchema = z
  .object({
    version: z.literal(STATEMENT_VERSION),
    kind: z.literal('grid'),
    period,
    areaCode,
    lines: z.array(
      z
        .object({
          counterpart: areaCode,
          bytesExported: safeInt,
          bytesImported: safeInt,
          unitsCredited: safeInt,
          unitsDebited: safeInt,
          netUnits: signedInt,
        })
        .strict(),
    ),
    netUnits: signedInt,
  })
  .strict();

const summarySchema = z
  .object({
    version: z.literal(STATEMENT_VERSION),
    kind: z.literal('summary'),
    period,
    balances: z.array(z.object({ areaCode, netUnits: signedInt }).strict()),
    totalUnits: z.literal(0),
  })
  .strict();

const bodySchema = z.discriminatedUnion('kind', [gridSchema, summarySchema]);

function sortedStrictly(codes: string[]): boolean {
  for (let i = 1; i < codes.length; i++) if (!(codes[i - 1]! < codes[i]!)) return false;
  return true;
}

/**
 * The body's internal consistency: arrays in canonical order without
 * repeats, nets equal to their parts, summary balances summing to 0.
 * Returns why not, or undefined when consistent.
 */
export function statementProblem(body: StatementBody): string | undefined {
  if (body.period.toMs <= body.period.fromMs) return `period '${body.period.id}' ends at or before it starts`;
  if (body.kind === 'grid') {
    if (!sortedStrictly(body.lines.map((l) => l.counterpart))) return 'lines are not in strict counterpart order';
    let net = 0n;
    for (const l of body.lines) {
      if (l.counterpart === body.areaCode) return `line for the grid's own area code ${l.counterpart}`;
      if (BigInt(l.unitsCredited) - BigInt(l.unitsDebited) !== BigInt(l.netUnits)) return `line ${l.counterpart}: netUnits ${l.netUnits} is not credited − debited`;
      net += BigInt(l.netUnits);
    }
    if (net !== BigInt(body.netUnits)) return `netUnits ${body.netUnits} is not the sum of the lines (${net})`;
    return undefined;
  }
  if (!sortedStrictly(body.balances.map((b) => b.areaCode))) return 'balances are not in strict area-code order';
  let total = 0n;
  for (const b of body.balances) total += BigInt(b.netUnits);
  if (total !== 0n) return `balances sum to ${total}, not 0`;
  return undefined;
}

/**
 * The plain JSON-able object that is signed for `body` (a copy with exactly
 * the schema's fields, so extra properties never reach the signature).
 */
export function statementBody(body: StatementBody): StatementBody {
  const period = { id: body.period.id, fromMs: body.period.fromMs, toMs: body.period.toMs };
  if (body.kind === 'grid') {
    const lines = body.lines.map((l) => ({
      counterpart: l.counterpart,
      bytesExported: l.bytesExported,
      bytesImported: l.bytesImported,
      unitsCredited: l.unitsCredited,
      unitsDebited: l.unitsDebited,
      netUnits: l.netUnits,
    }));
    const out: GridStatementBody = { version: STATEMENT_VERSION, kind: 'grid', period, areaCode: body.areaCode, lines, netUnits: body.netUnits };
    return out;
  }
  const out: SummaryBody = {
    version: STATEMENT_VERSION,
    kind: 'summary',
    period,
    balances: body.balances.map((b) => ({ areaCode: b.areaCode, netUnits: b.netUnits })),
    totalUnits: 0,
  };
  return out;
}

function parse(value: unknown): StatementBody {
  const parsed = bodySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LayoutInvalidError(`statement body is malformed: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data as StatementBody;
}

/**
 * Signs a statement or summary with the clearinghouse key.
 * @example const signed = signStatement(statements[0], chKey)
 * @throws LayoutInvalidError when the body is malformed or inconsistent (it is never signed).
 */
export function signStatement(body: StatementBody, key: KeyPair): SignedDocument {
  const plain = parse(statementBody(body));
  const problem = statementProblem(plain);
  if (problem) throw new LayoutInvalidError(`refusing to sign ${plain.kind} statement for period '${plain.period.id}': ${problem}`);
  return signJson(STATEMENT_TAG, plain, key);
}

/**
 * Verifies a signed statement against the clearinghouse key the caller
 * trusts, and returns its body.
 * @example const s = openStatement(signed, config.clearinghouse.publicKey)
 * @throws IntegrityError when the signature does not verify (tampered body or signature, other key).
 * @throws LayoutInvalidError when the body is not a consistent version-1 statement.
 */
export function openStatement(signed: { body: Uint8Array; signature: Uint8Array }, clearinghouseKey: Uint8Array): StatementBody {
  assertBytes('clearinghouse public key', clearinghouseKey, 32);
  const body = openJson(STATEMENT_TAG, signed.body, signed.signature, clearinghouseKey, parse);
  const problem = statementProblem(body);
  if (problem) throw new LayoutInvalidError(`${body.kind} statement for period '${body.period.id}' is inconsistent: ${problem}`);
  return body;
}
