/**
 * `intergrid demo` (`npm run demo`): starts a grid on loopback in a temporary
 * directory — grid manager and ten storage servers, each its own process,
 * started exactly as `intergrid up` does — uploads a sample file, shows where
 * its shares went, downloads it by its cap, prints both sha256 sums, and
 * stops everything. Nothing is left behind unless --keep is given.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactCap } from '../../../libs/caps/index.js';
import { IntegrityError } from '../../../libs/errors/index.js';
import { loadClientConfig, connectGrid, uploadFile, downloadFile } from '../../../libs/client/index.js';
import { startFederation } from '../launcher/federation.js';
import type { FederationFile } from '../launcher/supervisor.js';

export interface DemoOptions {
  /** Sample size in bytes (default 5 MiB + 123, so the last segment is partial). */
  bytes?: number;
  keep?: boolean;
}

const say = (line: string): void => void process.stdout.write(line + '\n');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export async function demoCommand(opts: DemoOptions = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-demo-'));
  say(`starting a grid in ${dir} (grid manager + 10 storage servers, one process each) …`);
  const { federationPath, stop } = await startFederation({ dir, grids: 1, servers: 10 });
  try {
    const federation = JSON.parse(readFileSync(federationPath, 'utf8')) as FederationFile;
    for (const s of federation.services) say(`  ${s.role.padEnd(14)} ${s.name.padEnd(16)} ${s.address.padEnd(17)} pid ${s.pid}`);
    const grid = federation.grids[0]!;

    const sample = Buffer.alloc(opts.bytes ?? 5 * 1024 * 1024 + 123);
    randomFillSync(sample);
    const input = join(dir, 'sample.bin');
    writeFileSync(input, sample);
    say(`\nuploading ${sample.length} random bytes from grid ${grid.name} (area code ${grid.areaCode}) …`);

    const conn = await connectGrid(loadClientConfig(grid.clientConfig));
    try {
      const put = await uploadFile(conn, input);
      say(`  read-cap  ${put.capText}`);
      say(`  (in logs: ${redactCap(put.capText)})`);
      const byServer = new Map<string, number[]>();
      for (const s of put.shares) byServer.set(s.server, [...(byServer.get(s.server) ?? []), s.shnum]);
      say(`  ${put.shares.length} shares on ${put.happiness} distinct servers:`);
      for (const [server, shares] of byServer) say(`    ${server.padEnd(20)} share ${shares.join(', ')}`);

      say('\ndownloading by the cap, verifying every block against it …');
      const chunks: Uint8Array[] = [];
      const got = await downloadFile(conn, put.cap, async (chunk) => void chunks.push(Uint8Array.from(chunk)));
      const back = Buffer.concat(chunks);
      say(`  sha256 uploaded    ${sha256(sample)}`);
      say(`  sha256 downloaded  ${sha256(back)}`);
      if (!back.equals(sample)) throw new IntegrityError('demo: the downloaded bytes differ from the uploaded ones');
      say(`  identical (${back.length} bytes, ${got.report.corrupt.length} corrupt shares seen)`);
    } finally {
      conn.close();
    }
  } finally {
    await stop();
    if (opts.keep) say(`\nkept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    say('stopped every service.');
  }
}
