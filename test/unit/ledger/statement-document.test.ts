import { describe, it, expect } from 'vitest';
import { buildStatements, postingsForTransfer, signStatement, openStatement, statementBody, STATEMENT_TAG, type Period } from '../../../libs/ledger/index.js';
import { canonicalJson, signJson, DIRECTORY_TAG } from '../../../libs/auth/index.js';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import { IntegrityError, LayoutInvalidError } from '../../../libs/errors/index.js';

const ch = generateKeyPair();
const other = generateKeyPair();
const FROM = 1_764_000_000_000;
const PERIOD: Period = { id: '2026-11', fromMs: FROM, toMs: FROM + 86_400_000 };
const GIB = 2 ** 30;

const { statements, summary } = buildStatements(PERIOD, [
  ...postingsForTransfer({ transferId: 'a', exporter: '101', importer: '202', bytes: GIB, priceUnitsPerGib: 5, atMs: FROM }),
  ...postingsForTransfer({ transferId: 'b', exporter: '202', importer: '303', bytes: 3 * GIB, priceUnitsPerGib: 2, atMs: FROM + 1 }),
  ...postingsForTransfer({ transferId: 'c', exporter: '303', importer: '101', bytes: 12345, priceUnitsPerGib: 7, atMs: FROM + 2 }),
]);

describe('signed statements', () => {
  it('round-trips a grid statement and the summary', () => {
    for (const body of [...statements, summary]) {
      expect(openStatement(signStatement(body, ch), ch.publicKey)).toEqual(body);
    }
  });

  it('signs canonical JSON of the plain body under the statement tag', () => {
    const signed = signStatement(statements[0]!, ch);
    expect(new TextDecoder().decode(signed.body)).toBe(canonicalJson(statementBody(statements[0]!)));
    expect(new TextDecoder().decode(signed.body)).toMatch(/^\{"areaCode":"101","kind":"grid","lines":\[/);
    expect(STATEMENT_TAG).toBe('intergrid:statement:v1');
  });

  it('drops properties outside the schema before signing', () => {
    const extra = { ...summary, note: 'x' } as typeof summary;
    const opened = openStatement(signStatement(extra, ch), ch.publicKey);
    expect(opened).toEqual(summary);
  });

  it('rejects a tampered body', () => {
    const signed = signStatement(statements[1]!, ch);
    const text = new TextDecoder().decode(signed.body).replace('"netUnits":1', '"netUnits":2');
    expect(text).not.toBe(new TextDecoder().decode(signed.body));
    expect(() => openStatement({ body: new TextEncoder().encode(text), signature: signed.signature }, ch.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a tampered signature', () => {
    const signed = signStatement(summary, ch);
    const signature = Uint8Array.from(signed.signature);
    signature[0]! ^= 1;
    expect(() => openStatement({ body: signed.body, signature }, ch.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a statement signed by another key', () => {
    expect(() => openStatement(signStatement(summary, other), ch.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a document of another kind signed by the clearinghouse key', () => {
    const signed = signJson(DIRECTORY_TAG, statementBody(summary), ch);
    expect(() => openStatement(signed, ch.publicKey)).toThrow(IntegrityError);
  });

  it('rejects a correctly signed body that is malformed or does not balance', () => {
    const malformed = signJson(STATEMENT_TAG, { ...statementBody(summary), version: 2 }, ch);
    expect(() => openStatement(malformed, ch.publicKey)).toThrow(LayoutInvalidError);
    const unbalanced = signJson(STATEMENT_TAG, { ...statementBody(summary), balances: [{ areaCode: '101', netUnits: 3 }] }, ch);
    expect(() => openStatement(unbalanced, ch.publicKey)).toThrow(/sum to 3, not 0/);
  });

  it('refuses to sign an inconsistent statement', () => {
    const grid = statements[0]!;
    expect(() => signStatement({ ...grid, netUnits: grid.netUnits + 1 }, ch)).toThrow(LayoutInvalidError);
    expect(() => signStatement({ ...summary, balances: [...summary.balances].reverse() }, ch)).toThrow(/order/);
  });
});
