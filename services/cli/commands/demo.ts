/**
 * `intergrid demo` (`npm run demo`): starts a two-grid federation on loopback
 * in a temporary directory — a clearinghouse, and per grid a grid manager,
 * ten storage servers, two contact points and a gateway, each its own process,
 * started exactly as `intergrid up` does — uploads a sample file in grid A,
 * fetches it from grid B by its long-distance cap, prints both sha256 sums,
 * the hops the bytes took and what each hop counted, and stops everything.
 * Nothing is left behind unless --keep is given.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authInterceptor, type Identity } from '../../../libs/auth/index.js';
import { parseReadCap, redactCap, toVerifyCap, formatCap } from '../../../libs/caps/index.js';
import { shortKey } from '../../../libs/crypto/index.js';
import { IntegrityError } from '../../../libs/errors/index.js';
import { loadClientConfig, connectGrid, uploadFile, downloadFile } from '../../../libs/client/index.js';
import { CHANNEL_OPTIONS, call, contactPointProto, gatewayProto } from '../../../libs/rpc/index.js';
import type { ContactPointClient } from '../../../libs/rpc/generated/intergrid/contactpoint/ContactPoint.js';
import type { GatewayClient } from '../../../libs/rpc/generated/intergrid/gateway/Gateway.js';
import type { ServedUsage__Output } from '../../../libs/rpc/generated/intergrid/contactpoint/ServedUsage.js';
import type { GatewayUsage__Output } from '../../../libs/rpc/generated/intergrid/gateway/GatewayUsage.js';
import type { Empty } from '../../../libs/rpc/generated/intergrid/Empty.js';
import { startFederation } from '../launcher/federation.js';

export interface DemoOptions {
  /** Sample size in bytes (default 5 MiB + 123, so the last segment is partial). */
  bytes?: number;
  keep?: boolean;
}

const say = (line: string): void => void process.stdout.write(line + '\n');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A grid admin's view of what one service counted (GetUsage on a gateway or a contact point). */
async function usageOf<C extends grpc.Client, R>(
  Ctor: new (address: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions) => C,
  method: (c: C) => (req: Empty, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: R) => void) => grpc.ClientUnaryCall,
  address: string,
  admin: Identity,
): Promise<R> {
  const client = new Ctor(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors: [authInterceptor(admin)] });
  try {
    return await call<Empty, R>(client, method(client), {}, { peer: address });
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
      gatewayProto().intergrid.gateway.Gateway, (c) => c.GetUsage, gw.address, b.admin.identity);
    for (const l of gwUsage.lines) {
      say(`   gateway ${gw.address.padEnd(16)} (grid ${b.plan.name})  verified and forwarded ${l.verifiedBytes} bytes from area ${l.remoteAreaCode} ` +
        `for client ${shortKey(l.client)} at ${l.priceUnitsPerGib} units/GiB`);
    }
    say(`   clearinghouse ${fed.clearinghouse.address}         resolved area code ${cap.areaCode} to grid ${a.plan.name}'s contact points`);
    for (const cp of byRole(a.plan.name, 'contact-point')) {
      const served = await usageOf<ContactPointClient, ServedUsage__Output>(
        contactPointProto().intergrid.contactpoint.ContactPoint, (c) => c.GetUsage, cp.address, a.admin.identity);
      const bytes = served.lines.reduce((sum, l) => sum + l.bytes, 0);
      say(`   contact point ${cp.address.padEnd(16)} (grid ${a.plan.name})  decoded from grid ${a.plan.name}'s storage servers and served ${bytes} bytes`);
    }

    say('\n4. the bytes:');
    say(`   sha256 uploaded in grid ${a.plan.name}     ${sha256(sample)}`);
    say(`   sha256 fetched from grid ${b.plan.name}    ${sha256(back)}`);
    if (!back.equals(sample)) throw new IntegrityError('demo: the fetched bytes differ from the uploaded ones');
    say('   identical.');
    failed = false;
  } finally {
    await fed.stop();
    if (opts.keep || failed) say(`\nkept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    say('stopped every service.');
  }
}
