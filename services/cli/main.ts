#!/usr/bin/env node
/**
 * The `intergrid` command. Each subcommand lives in commands/<name>.ts;
 * output.ts turns every failure into one stderr line and an exit code
 * (1 = operation failed, 2 = bad usage or config, 3 = integrity failure;
 * `status` also exits 4 when its report lists a problem).
 */
import { Command, CommanderError } from 'commander';
import { setLogger } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../libs/errors/index.js';
import { action } from './output.js';
import type { StatusOptions } from './commands/status.js';
import type { JoinOptions } from './commands/join.js';
import type { GridInitOptions } from './commands/grid-init.js';
import { SERVICE_NAMES } from './commands/service-names.js';
import { registerClearinghouseBillingCommands } from './commands/clearinghouse-billing-commands.js';
import type { HealthOptions } from './commands/health.js';
import type { OperatorOptions } from './commands/clearinghouse.js';

// grpc-js logs its own line before a failed bind throws; the error itself
// becomes the one stderr line (output.ts), so that log line is dropped.
// Otherwise the same format as grpc-js's default logger.
const grpcLog =
  (prefix: string) =>
  (message?: unknown, ...rest: unknown[]): void => {
    if (prefix === 'E' && typeof message === 'string' && message.startsWith('No address added out of total')) return;
    console.error(`${prefix} ${String(message)}`, ...rest);
  };
setLogger({ error: grpcLog('E'), info: grpcLog('I'), debug: grpcLog('D') });

const program = new Command()
  .name('intergrid')
  .description('Federated Tahoe-style storage grids')
  .exitOverride((err: CommanderError) => {
    // Help and version exit 0; any usage error is exit code 2 (output.ts).
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

program
  .command('put')
  .description('upload FILE (or - for stdin) to the home grid; prints its read-cap on stdout')
  .argument('<file>')
  .requiredOption('--config <client.json>', 'client config')
  .action(action(async (file: string, opts: { config: string }) => (await import('./commands/put.js')).putCommand(file, opts)));

program
  .command('get')
  .description('download a file by its read-cap (to stdout, or atomically to -o OUT)')
  .argument('<cap>')
  .requiredOption('--config <client.json>', 'client config')
  .option('-o, --output <file>', 'write to this file (atomically: temp file, fsync, rename)')
  .option('--range <start-end>', 'inclusive byte range, e.g. 0-99 or 100-')
  .action(action(async (cap: string, opts: { config: string; output?: string; range?: string }) => (await import('./commands/get.js')).getCommand(cap, opts)));

program
  .command('check')
  .description('verify every share of a file (and repair it with --repair); exit 0 when healthy (after repair), 1 otherwise')
  .argument('<cap>', 'read-cap or verify-cap')
  .requiredOption('--config <client.json>', 'client config')
  .option('--json', 'machine-readable output')
  .option('--add-lease', "also add or renew this account's lease on every server holding a share")
  .option('--repair', 'rebuild missing or bad shares (from ciphertext, a verify-cap is enough) onto servers holding none, then check again')
  .action(action(async (cap: string, opts: { config: string; json?: boolean; addLease?: boolean; repair?: boolean }) => (await import('./commands/check.js')).checkCommand(cap, opts)));

program
  .command('web')
  .description('serve the web API (PUT /uri, GET /uri/CAP with ranges) and the dashboard for this client; prints "listening http://HOST:PORT"')
  .requiredOption('--config <client.json>', 'client config')
  .option('--listen <host:port>', 'where to listen (port 0 picks a free port; loopback unless told otherwise)', '127.0.0.1:3456')
  .option('--admin <admin.json>', "also show this grid admin's or clearinghouse operator's status on the dashboard (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
  .action(action(async (opts: { config: string; listen: string; admin?: string[] }) => (await import('./commands/web.js')).webCommand(opts)));

program
  .command('status')
  .description('one screen for the admin of a grid manager or clearinghouse: exit 0 = fine, 1 = service unreachable, 4 = problems listed')
  .option('--config <file>', 'the grid manager or clearinghouse config (status calls it as its own key); or give --admin alone')
  .option('--admin <admin.json>', 'call as this admin / operator identity; alone, it also says which service and where (its recorded address)')
  .option('--address <host:port>', "the service's address (default: the config's listen; for port 0, the address --admin records)")
  .option('--expiring-within <duration>', 'grids: list certificates expiring within this, e.g. 7d, 48h', '7d')
  .option('--json', 'one JSON object (docs/operations.md "Status")')
  .action(action(async (opts: StatusOptions) => (await import('./commands/status.js')).statusCommand(opts)));

const grid = program.command('grid').description('grid administration (needs the admin identity)');
const adminOpts = (c: Command) =>
  c.requiredOption('--admin <admin.json>', 'admin identity file').option('--grid-manager <host:port>', 'grid manager address (default: from admin.json)');

grid
  .command('init')
  .description('create or refresh a grid manager directory (grid key, admin identity, config); prints the config and admin identity paths')
  .requiredOption('--dir <dir>', 'grid manager directory')
  .requiredOption('--area-code <code>', "the grid's area code (3–8 digits), fixed once chosen")
  .requiredOption('--listen <host:port>', 'address the grid manager will listen on')
  .option('--nats <url>', "the grid's NATS server for usage events, nats://host:port (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--nats-credentials <file>', 'JSON file {"user", "password"} the NATS server requires (docs/events.md "Credentials")')
  .action(action(async (opts: GridInitOptions) => (await import('./commands/grid-init.js')).gridInitCommand(opts)));

adminOpts(grid.command('approve').description('certify a principal; prints its certificate (base64)'))
  .requiredOption('--role <role>', 'storage-server | client | gateway | contact-point | admin')
  .requiredOption('--key <hex>', 'public key (64 hex digits)')
  .option('--name <name>', 'human label')
  .option('--quota <bytes>', 'clients: per-server storage quota in bytes (0 = unlimited)')
  .action(action(async (opts: { admin: string; gridManager?: string; role: string; key: string; name?: string; quota?: string }) => (await import('./commands/grid.js')).gridApproveCommand(opts)));

adminOpts(grid.command('invite').description('print a one-time invite code for a new node (intergrid join CODE --dir DIR)'))
  .requiredOption('--role <role>', 'storage | client | gateway | contact-point')
  .option('--expires <duration>', 'how long the code can be redeemed, e.g. 30m, 24h, 7d', '24h')
  .option('--name <name>', 'label of the new principal (default: its key prefix)')
  .option('--quota <bytes>', 'clients: per-server storage quota in bytes')
  .action(action(async (opts: { admin: string; gridManager?: string; role: string; expires?: string; name?: string; quota?: string }) => (await import('./commands/grid.js')).gridInviteCommand(opts)));

program
  .command('join <code>')
  .description('join a grid with an invite code: creates DIR/key.json, redeems the code for a certificate, writes the config for the role')
  .requiredOption('--dir <dir>', 'directory for the key, certificate and config')
  .option('--listen <host:port>', 'storage servers, gateways, contact points: address to listen on (default 0.0.0.0:7400, 7500, 7600)')
  .option('--advertise <host:port>', 'storage servers, contact points: address announced to others when it differs from --listen')
  .option('--name <name>', 'services: name in the config')
  .option('--clearinghouse <host:port>', 'gateways, contact points: the clearinghouse address')
  .option('--clearinghouse-key <hex>', "gateways, contact points: the clearinghouse's public key")
  .option('--nats <url>', "gateways: a NATS server of the grid, nats://host:port (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--nats-credentials <file>', 'gateways: JSON file {"user", "password"} the grid\'s NATS server requires (intergrid up writes DIR/<grid>/nats/credentials.json)')
  .option('--price-ceiling <units-per-gib>', 'gateways: the highest price paid for a long-distance transfer')
  .option('--gateway <host:port>', "clients: the home grid's gateway (long-distance gets)")
  .option('--gateway-key <hex>', "clients, with --gateway: the gateway's public key (pins its TLS certificate)")
  .action(action(async (code: string, opts: JoinOptions) => (await import('./commands/join.js')).joinCommand(code, opts)));

grid
  .command('join-federation <code>')
  .description("join the clearinghouse with a federation invite code (run on the grid manager's machine): redeems it with the grid key, writes the clearinghouse into the grid manager config")
  .requiredOption('--config <config.json>', "the grid manager's config file")
  .action(action(async (code: string, opts: { config: string }) => (await import('./commands/join-federation.js')).joinFederationCommand(code, opts)));

adminOpts(grid.command('revoke').description('revoke a principal'))
  .requiredOption('--key <hex>', 'public key (64 hex digits)')
  .action(action(async (opts: { admin: string; gridManager?: string; key: string }) => (await import('./commands/grid.js')).gridRevokeCommand(opts)));

adminOpts(grid.command('list').description('list principals'))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: { admin: string; gridManager?: string; json?: boolean }) => (await import('./commands/grid.js')).gridListCommand(opts)));

adminOpts(grid.command('usage').description('bytes stored per account and long-distance transfers per account and remote grid'))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: { admin: string; gridManager?: string; json?: boolean }) => (await import('./commands/grid.js')).gridUsageCommand(opts)));

adminOpts(grid.command('watch').description("hand the grid's repairer a file to keep alive: it renews its leases and repairs it below happy (a read-cap is sent as its verify-cap)"))
  .argument('<cap>', 'read-cap or verify-cap of a file of this grid')
  .action(action(async (cap: string, opts: { admin: string; gridManager?: string }) => (await import('./commands/grid-watch.js')).gridWatchCommand(cap, opts)));

adminOpts(grid.command('unwatch').description('stop watching a file (its leases then run out unless renewed)'))
  .argument('<cap>', 'read-cap or verify-cap')
  .action(action(async (cap: string, opts: { admin: string; gridManager?: string }) => (await import('./commands/grid-watch.js')).gridUnwatchCommand(cap, opts)));

adminOpts(grid.command('watched').description("the repairer's watched files: last check, shares, lease expiry, shares repaired, problems"))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: { admin: string; gridManager?: string; json?: boolean }) => (await import('./commands/grid-watch.js')).gridWatchedCommand(opts)));

adminOpts(grid.command('statements').description("this grid's settlement statements, fetched from the clearinghouse and verified by the grid manager"))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: { admin: string; gridManager?: string; json?: boolean }) => (await import('./commands/grid.js')).gridStatementsCommand(opts)));

const clearinghouse = program.command('clearinghouse').description('clearinghouse operation (needs the operator identity)');
const operatorOpts = (c: Command) =>
  c
    .requiredOption('--admin <admin.json>', 'clearinghouse operator identity file')
    .option('--clearinghouse <host:port>', 'clearinghouse address (default: from admin.json)');

clearinghouse
  .command('init')
  .description('create or refresh a clearinghouse directory; prints the config and operator identity paths')
  .requiredOption('--dir <dir>', 'clearinghouse directory')
  .requiredOption('--listen <host:port>', 'address the clearinghouse will listen on')
  .action(action(async (opts: { dir: string; listen: string }) => (await import('./commands/clearinghouse.js')).clearinghouseInitCommand(opts)));

operatorOpts(clearinghouse.command('admit').description("admit a grid; prints its area code"))
  .requiredOption('--grid-manager-key <hex>', "the grid manager's public key (64 hex digits)")
  .requiredOption('--name <name>', 'human label')
  .option('--area-code <code>', 'requested area code (default: the next free one)')
  .option('--price <units-per-gib>', 'initial price', '0')
  .action(
    action(async (opts: OperatorOptions & { gridManagerKey: string; name: string; areaCode?: string; price?: string }) => (await import('./commands/clearinghouse.js')).clearinghouseAdmitCommand(opts)),
  );

operatorOpts(clearinghouse.command('invite').description('print a one-time invite code for a grid to join (intergrid grid join-federation CODE --config GM_CONFIG)'))
  .requiredOption('--name <name>', "the grid's name once admitted")
  .option('--area-code <code>', "the area code it must join under (default: the grid manager's configured one)")
  .option('--price <units-per-gib>', 'initial price', '0')
  .option('--expires <duration>', 'how long the code can be redeemed, e.g. 30m, 24h, 7d (at most 30d)', '24h')
  .option('--address <host:port>', 'the clearinghouse address written into the code, where grids reach it (default: the address this command dials)')
  .action(
    action(async (opts: OperatorOptions & { name: string; areaCode?: string; price?: string; expires?: string; address?: string }) => (await import('./commands/clearinghouse.js')).clearinghouseInviteCommand(opts)),
  );

operatorOpts(clearinghouse.command('suspend').description("suspend a grid: its area code stops resolving and contact points refuse its gateways"))
  .requiredOption('--area-code <code>', 'area code')
  .action(action(async (opts: OperatorOptions & { areaCode: string }) => (await import('./commands/clearinghouse.js')).clearinghouseSuspendCommand(opts, true)));

operatorOpts(clearinghouse.command('reinstate').description('reinstate a suspended grid'))
  .requiredOption('--area-code <code>', 'area code')
  .action(action(async (opts: OperatorOptions & { areaCode: string }) => (await import('./commands/clearinghouse.js')).clearinghouseSuspendCommand(opts, false)));

operatorOpts(clearinghouse.command('approve-gateway').description("approve a grid's gateway; prints its certificate (base64)"))
  .requiredOption('--area-code <code>', "the gateway's own area code")
  .requiredOption('--key <hex>', "the gateway's public key (64 hex digits)")
  .option('--validity-days <days>', 'certificate lifetime (default: the clearinghouse default)')
  .action(action(async (opts: OperatorOptions & { areaCode: string; key: string; validityDays?: string }) => (await import('./commands/clearinghouse.js')).clearinghouseApproveGatewayCommand(opts)));

operatorOpts(clearinghouse.command('revoke-gateway').description("revoke every approval of a gateway key, for good: contact points refuse it"))
  .requiredOption('--key <hex>', "the gateway's public key (64 hex digits)")
  .action(action(async (opts: OperatorOptions & { key: string }) => (await import('./commands/clearinghouse.js')).clearinghouseRevokeGatewayCommand(opts)));

const prices = clearinghouse.command('prices').description("grids' published prices");
operatorOpts(prices.command('set').description("publish a grid's price (units per GiB)"))
  .requiredOption('--area-code <code>', 'area code')
  .requiredOption('--price <units-per-gib>', 'new price')
  .action(action(async (opts: OperatorOptions & { areaCode: string; price: string }) => (await import('./commands/clearinghouse.js')).clearinghousePriceSetCommand(opts)));
operatorOpts(prices.command('list').description('current price of every grid'))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: OperatorOptions & { json?: boolean }) => (await import('./commands/clearinghouse.js')).clearinghousePriceListCommand(opts)));

operatorOpts(clearinghouse.command('grids').description('list admitted grids'))
  .option('--json', 'machine-readable output')
  .action(action(async (opts: OperatorOptions & { json?: boolean }) => (await import('./commands/clearinghouse.js')).clearinghouseGridsCommand(opts)));

registerClearinghouseBillingCommands(clearinghouse, operatorOpts);

program
  .command('serve')
  .description(`run one service in the foreground (${SERVICE_NAMES.join(', ')})`)
  .argument('<service>')
  .requiredOption('--config <file>', 'service config')
  .action(action(async (service: string, opts: { config: string }) => (await import('./commands/serve.js')).serveCommand(service, opts.config)));

program
  .command('up')
  .description('run a whole grid on loopback, each service its own process')
  .requiredOption('--dir <dir>', 'state directory (reused across runs)')
  .option('--grids <n>', 'grids (a, b, … with area codes 101, 102, …)', '2')
  .option('--servers <n>', 'storage servers per grid', '10')
  .option('--share-backend <kind>', 'where storage servers keep shares: disk, or s3 (one bucket of a local Ceph cluster under DIR/ceph)', 'disk')
  .action(
    action(async (opts: { dir: string; grids: string; servers: string; shareBackend: string }) => {
      const servers = Number(opts.servers);
      if (!Number.isInteger(servers) || servers < 1 || servers > 100) throw new InvalidArgumentError(`--servers '${opts.servers}' must be an integer in [1, 100]`);
      const grids = Number(opts.grids);
      if (!Number.isInteger(grids) || grids < 1 || grids > 26) throw new InvalidArgumentError(`--grids '${opts.grids}' must be an integer in [1, 26]`);
      const shareBackend = (await import('./launcher/share-backend.js')).parseShareBackend(opts.shareBackend);
      await (await import('./commands/up.js')).upCommand({ dir: opts.dir, grids, servers, shareBackend });
    }),
  );

program
  .command('demo')
  .description('start a grid on loopback in a temp dir, upload and download a sample file, stop everything')
  .option('--keep', 'keep the temp dir (keys, data, logs) afterwards')
  .action(action(async (opts: { keep?: boolean }) => (await import('./commands/demo.js')).demoCommand(opts)));

program
  .command('health')
  .description("ask a running service for its grpc.health.v1 status; exit 0 when SERVING, 1 otherwise")
  .argument('<host:port>')
  .option('--service <name>', "health service name, e.g. intergrid.storage.Storage (default: '', the server)")
  .option('--key <hex>', "the service's public key: check that its TLS certificate carries it (default: TLS without a pin)")
  .option('--timeout <ms>', 'deadline of the check in milliseconds', '5000')
  .action(action(async (address: string, opts: HealthOptions) => (await import('./commands/health.js')).healthCommand(address, opts)));

// Subcommands inherit the exit-code policy.
for (const c of [program, ...program.commands, ...grid.commands, ...clearinghouse.commands, ...prices.commands]) {
  c.exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : 2));
}

await program.parseAsync(process.argv);
