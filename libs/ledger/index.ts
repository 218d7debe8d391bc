/**
 * libs/ledger: the pure part of the clearinghouse ledger — integer money,
 * double-entry postings, period statements (signed), and dispute comparison.
 * No database or network here; docs/ledger.md describes the model.
 */
export { costOf, sumUnits, BYTES_PER_GIB } from './money.js';
export { postingsForTransfer, MAX_TRANSFER_ID_LENGTH } from './posting.js';
export type { Posting, Transfer } from './posting.js';
export { buildStatements, STATEMENT_TAG, STATEMENT_VERSION } from './statement.js';
export type { Period, StatementLine, GridStatementBody, SummaryBody, StatementBody, PeriodStatements } from './statement.js';
export { statementBody, statementProblem, signStatement, openStatement } from './statement-document.js';
export { compareReports } from './dispute.js';
export type { TransferReport, DisputeReason, Comparison } from './dispute.js';
