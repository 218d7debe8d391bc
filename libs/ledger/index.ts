/**
 * libs/ledger: the pure part of the clearinghouse ledger — integer money,
 * price history, transfer matching, double-entry postings, period statements
 * (signed), and disputes.
 * No database or network here; docs/ledger.md describes the model.
 */
export { costOf, sumUnits, BYTES_PER_GIB } from './money.js';
export { postingsForTransfer, MAX_TRANSFER_ID_LENGTH } from './posting.js';
export type { Posting, Transfer } from './posting.js';
export { buildStatements, STATEMENT_TAG, STATEMENT_VERSION } from './statement.js';
export type { Period, StatementLine, GridStatementBody, SummaryBody, StatementBody, PeriodStatements } from './statement.js';
export { statementBody, statementProblem, signStatement, openStatement } from './statement-document.js';
export { compareReports, openDispute, disputeDetail, MAX_DETAIL } from './dispute.js';
export type { TransferReport, DisputeReason, Comparison, Dispute } from './dispute.js';
export { priceInEffect, priceForDispute } from './price-history.js';
export type { PricePoint } from './price-history.js';
export { decide, missingSide, priceAsOf, priceDateProblem, transferStart } from './transfer-matching.js';
export type { TransferReports, ServedSide, ReceiptSide, Decision, Refusal, PriceDateBounds } from './transfer-matching.js';
