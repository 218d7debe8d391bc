/**
 * `intergrid demo` (`npm run demo`): starts a two-grid federation on loopback
 * in a temporary directory — a clearinghouse, and per grid a grid manager,
 * ten storage servers, two contact points and a gateway, each its own process,
 * started exactly as `intergrid up` does — uploads a sample file in grid A,
 * fetches it from grid B by its long-distance cap, prints both sha256 sums,
 * the hops the bytes took and what each hop counted, then the bill: the
 * transfer posted at the clearinghouse at grid A's price, the period closed
 * into signed statements (what grid B owes grid A, a zero sum), and grid B's
 * manager's verified copy and per-account tally; then it stops everything.
 * Nothing is left behind unless --keep is given.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { securedClient, type ClientConstructor, type Identity } from '../../../libs/auth/index.js';
import { parseReadCap, redactCap, toVerifyCap, formatCap } from '../../../libs/caps/index.js';
import { shortKey } from '../../../libs/crypto/index.js';
import { IntegrityError, UnavailableError } from '../../../libs/errors/index.js';
import { loadClientConfig, connectGrid, uploadFile, downloadFile } from '../../../libs/client/index.js';
import { call, contactPointProto, gatewayProto } from '../../../libs/rpc/index.js';
import type { ContactPointClient, GatewayClient, ServedUsage__Output, GatewayUsage__Output, Empty } from '../../../libs/rpc/proto-types.js';
import { startFederation, type RunningFederation } from '../launcher/federation.js';
import { connectGridManager } from '../../../libs/grid/index.js';
import { costOf, openStatement, type GridStatementBody, type SummaryBody } from '../../../libs/ledger/index.js';
import { loadClearinghouseAdmin } from '../../clearinghouse/index.js';
import { connectLedger, type LedgerSnapshotInfo } from '../../../libs/federation/index.js';
import { fromHex } from '../../../libs/crypto/index.js';

export interface DemoOptions {
  /** Sample size in bytes (default 5 MiB + 123, so the last segment is partial). */
  bytes?: number;
  keep?: boolean;
}

const say = (line: string): void => void process.stdout.write(line + '\n');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A grid admin's view of what one service counted (GetUsage on a gateway or a contact point). */
async function usageOf<C extends grpc.Client, R>(
  Ctor: ClientConstructor,
  method: (c: C) => (req: Empty, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: R) => void) => grpc.ClientUnaryCall,
  service: { address: string; publicKey?: string },
  admin: Identity,
): Promise<R> {
  const client = securedClient<C>(Ctor, { address: service.address, publicKey: fromHex(service.publicKey ?? '', `key of ${service.address}`, 32) }, admin);
  try {
    return await call<Empty, R>(client, method(client), {}, { peer: service.address });
  } finally {
    client.close();
  }
}

export async function demoCommand(opts: DemoOptions = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-demo-'));
  say(`starting a federation in ${dir}:`);
  say('  a clearinghouse, and two grids of a grid manager, 10 storage servers, 2 contact points and a gateway (one process each) …');
  let failed = true;
  const fed = await startFederation({ dir, grids: 2, servers: 10 }).catch((err: unknown) => {
    say(`  failed; logs kept in ${join(dir, 'logs')}`);
    throw err;
  });
  try {
    const [a, b] = fed.grids as [(typeof fed.grids)[0], (typeof fed.grids)[0]];
    const byRole = (grid: string, role: string) => fed.supervisor.services.filter((s) => s.grid === grid && s.role === role);
    say(`  clearinghouse ${fed.clearinghouse.address}`);
    for (const g of [a, b]) {
      say(`  grid ${g.plan.name} (area code ${g.plan.areaCode}): grid manager ${g.gridManagerAddress}, gateway ${byRole(g.plan.name, 'gateway')[0]!.address}, ` +
        `contact points ${byRole(g.plan.name, 'contact-point').map((s) => s.address).join(' ')}`);
    }

    const sample = Buffer.alloc(opts.bytes ?? 5 * 1024 * 1024 + 123);
    randomFillSync(sample);
    const input = join(dir, 'sample.bin');
    writeFileSync(input, sample);

    say(`\n1. a client of grid ${a.plan.name} uploads ${sample.length} random bytes`);
    const connA = await connectGrid(loadClientConfig(a.clientConfigPath));
    let capText: string;
    try {
      const put = await uploadFile(connA, input);
      capText = put.capText;
      say(`   ${put.shares.length} shares on ${put.happiness} storage servers of grid ${a.plan.name}; read-cap:`);
      say(`   ${capText}`);
    } finally {
      connA.close();
    }

    const cap = parseReadCap(capText);
    say(`\n2. a client of grid ${b.plan.name} fetches it by that cap: area code ${cap.areaCode} is not home (${b.plan.areaCode}), so it is long distance`);
    say(`   the client sends only the verify-cap: ${formatCap(toVerifyCap(cap)).slice(0, 40)}…  (${redactCap(capText)})`);
    const connB = await connectGrid(loadClientConfig(b.clientConfigPath));
    const chunks: Uint8Array[] = [];
    try {
      await downloadFile(connB, cap, async (chunk) => void chunks.push(Uint8Array.from(chunk)));
    } finally {
      connB.close();
    }
    const back = Buffer.concat(chunks);

    say('\n3. hops and what each counted (ciphertext bytes of verified segments):');
    say(`   client (grid ${b.plan.name})                      received and verified ${back.length} bytes, decrypted locally`);
    const gw = byRole(b.plan.name, 'gateway')[0]!;
    const gwUsage = await usageOf<GatewayClient, GatewayUsage__Output>(
      gatewayProto().intergrid.gateway.Gateway, (c) => c.GetUsage, gw, b.admin.identity);
    const verifiedBytes = gwUsage.lines.filter((l) => l.remoteAreaCode === a.plan.areaCode).reduce((n, l) => n + Number(l.verifiedBytes), 0);
    for (const l of gwUsage.lines) {
      say(`   gateway ${gw.address.padEnd(16)} (grid ${b.plan.name})  verified and forwarded ${l.verifiedBytes} bytes from area ${l.remoteAreaCode} ` +
        `for client ${shortKey(l.client)} at ${l.priceUnitsPerGib} units/GiB`);
    }
    say(`   clearinghouse ${fed.clearinghouse.address}         resolved area code ${cap.areaCode} to grid ${a.plan.name}'s contact points`);
    for (const cp of byRole(a.plan.name, 'contact-point')) {
      const served = await usageOf<ContactPointClient, ServedUsage__Output>(
        contactPointProto().intergrid.contactpoint.ContactPoint, (c) => c.GetUsage, cp, a.admin.identity);
      const bytes = served.lines.reduce((sum, l) => sum + l.bytes, 0);
      say(`   contact point ${cp.address.padEnd(16)} (grid ${a.plan.name})  decoded from grid ${a.plan.name}'s storage servers and served ${bytes} bytes`);
    }

    say('\n4. the bytes:');
    say(`   sha256 uploaded in grid ${a.plan.name}     ${sha256(sample)}`);
    say(`   sha256 fetched from grid ${b.plan.name}    ${sha256(back)}`);
    if (!back.equals(sample)) throw new IntegrityError('demo: the fetched bytes differ from the uploaded ones');
    say('   identical.');

    await printBill({ fed, a, b, verifiedBytes });
    failed = false;
  } finally {
    await fed.stop();
    if (opts.keep || failed) say(`\nkept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    say('stopped every service.');
  }
}

/** Polls `probe` every 250 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new UnavailableError(`demo: timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Grid = RunningFederation['grids'][number];

/**
 * Step 5: the bill. Both sides' usage records reach the clearinghouse through
 * their outboxes (the gateway's receipt; the contact point's served record
 * carrying it), the transfer is posted at grid A's price, the operator closes
 * the period, and grid B's manager fetches and verifies its statement.
 */
async function printBill(input: { fed: RunningFederation; a: Grid; b: Grid; verifiedBytes: number }): Promise<void> {
  const { fed, a, b } = input;
  const operator = loadClearinghouseAdmin(fed.clearinghouse.adminIdentityPath);
  const chKey = fromHex(fed.clearinghouse.publicKey, 'clearinghouse key', 32);
  const ledger = connectLedger(fed.clearinghouse.address, operator.identity);
  const gmB = connectGridManager(b.gridManagerAddress, b.admin.identity);
  try {
    say('\n5. the bill:');
    say('   the gateway signed a receipt for the bytes it verified; both it and grid ' + a.plan.name + "'s contact point reported to the clearinghouse …");
    const pair = await waitFor('the transfer to be posted at the clearinghouse', async () => {
      const snap: LedgerSnapshotInfo = await ledger.getLedger();
      const p = snap.pairs.find((x) => x.exporter === a.plan.areaCode && x.importer === b.plan.areaCode);
      return p && snap.pendingRecords === 0 ? { p, snap } : undefined;
    });
    const price = (await fed.clearinghouse.admin.listGrids()).find((g) => g.areaCode === a.plan.areaCode)!.priceUnitsPerGib;
    say(`   posted: ${pair.p.bytes} bytes from area ${a.plan.areaCode} to area ${b.plan.areaCode} in ${pair.p.transfers} transfer(s) ` +
      `at ${price} units/GiB → ${pair.p.units} units (ceil(${pair.p.bytes} × ${price} / 2^30) = ${costOf(pair.p.bytes, price)}); ` +
      `open disputes: ${pair.snap.openDisputes}`);
    if (pair.p.bytes !== input.verifiedBytes) {
      throw new IntegrityError(`demo: the clearinghouse billed ${pair.p.bytes} bytes, the gateway verified ${input.verifiedBytes}`);
    }
    const period = await ledger.closePeriod();
    const signed = await ledger.getStatements(period.id);
    const summary = openStatement(signed.summary, chKey) as SummaryBody;
    const statements = signed.statements.map((x) => openStatement(x, chKey) as GridStatementBody);
    say(`   the operator closed period ${period.id}; statements signed by the clearinghouse and verified with its key:`);
    for (const st of statements) {
      for (const l of st.lines) {
        say(`     grid ${st.areaCode}: with ${l.counterpart} exported ${l.bytesExported} bytes (+${l.unitsCredited}), imported ${l.bytesImported} bytes (−${l.unitsDebited})`);
      }
    }
    const owed = summary.balances.find((x) => x.areaCode === a.plan.areaCode)?.netUnits ?? 0;
    say(`   grid ${b.plan.name} (area ${b.plan.areaCode}) owes grid ${a.plan.name} (area ${a.plan.areaCode}) ${owed} units`);
    say(`   summary balances: ${summary.balances.map((x) => `${x.areaCode} ${x.netUnits > 0 ? '+' : ''}${x.netUnits}`).join(', ')}  → sum ${summary.totalUnits}`);
    const verified = await waitFor(`grid ${b.plan.name}'s manager to fetch its statement`, async () =>
      (await gmB.listStatements()).find((x) => x.periodId === period.id),
    );
    say(`   grid ${b.plan.name}'s manager fetched and verified its statement: net ${verified.netUnits} units`);
    const usage = await waitFor(`grid ${b.plan.name}'s manager to tally the client's usage (NATS)`, async () => {
      const u = await gmB.getUsageSummary();
      return u.transfers.length > 0 ? u.transfers : undefined;
    });
    for (const t of usage) {
      say(`   grid ${b.plan.name}'s account ${t.name || shortKey(t.account)}: ${t.bytes} bytes from area ${t.remoteAreaCode}, ${t.units} units (tallied from NATS usage events)`);
    }
  } finally {
    ledger.close();
    gmB.close();
  }
}
