/**
 * The clearinghouse's billing subcommands (disputes, resolve-dispute,
 * close-period, statement, ledger), registered without loading their
 * implementation (clearinghouse.ts is imported when one runs).
 */
import type { Command } from 'commander';
import { action } from '../output.js';
import type { OperatorOptions } from './clearinghouse.js';

/** Registers the billing subcommands under `clearinghouse` (operatorOpts adds --admin/--clearinghouse). */
export function registerClearinghouseBillingCommands(clearinghouse: Command, operatorOpts: (c: Command) => Command): void {
  operatorOpts(clearinghouse.command('disputes').description('list open billing disputes'))
    .option('--all', 'include resolved disputes')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: OperatorOptions & { all?: boolean; json?: boolean }) => (await import('./clearinghouse.js')).clearinghouseDisputesCommand(opts)));
  operatorOpts(clearinghouse.command('resolve-dispute').description('resolve a dispute: post one side, or void it'))
    .argument('<id>', 'dispute id')
    .option('--accept <side>', "post the 'served' or 'receipt' side's bytes at the exporter's price")
    .option('--void', 'post nothing')
    .option('--note <text>', 'why (kept with the dispute)')
    .action(action(async (id: string, opts: OperatorOptions & { accept?: string; void?: boolean; note?: string }) => (await import('./clearinghouse.js')).clearinghouseResolveDisputeCommand(id, opts)));
  operatorOpts(clearinghouse.command('close-period').description('close the open billing period and sign its statements'))
    .option('--id <period>', 'period id (default: the next number)')
    .action(action(async (opts: OperatorOptions & { id?: string }) => (await import('./clearinghouse.js')).clearinghouseClosePeriodCommand(opts)));
  operatorOpts(clearinghouse.command('statement').description("a closed period's signed statements (verified)"))
    .option('--period <id>', 'period id (default: the latest closed)')
    .option('--json', 'machine-readable output: {period, summary, statements}')
    .action(action(async (opts: OperatorOptions & { period?: string; json?: boolean }) => (await import('./clearinghouse.js')).clearinghouseStatementCommand(opts)));
  operatorOpts(clearinghouse.command('ledger').description("the open period's running totals"))
    .option('--json', 'machine-readable output')
    .action(action(async (opts: OperatorOptions & { json?: boolean }) => (await import('./clearinghouse.js')).clearinghouseLedgerCommand(opts)));
}
