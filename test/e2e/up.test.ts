/**
 * `intergrid up` as a user runs it: the built CLI starts a federation (a
 * clearinghouse and two grids, each a grid manager, 10 storage servers, two
 * contact points and a gateway, every one its own process), then `put`/`get`
 * from other processes, locally and long-distance from the other grid;
 * killing 7 storage servers of the home grid leaves the file readable from
 * both grids; SIGTERM stops every child; running `up` again on the same dir
 * reuses keys and data.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, createHash, X509Certificate } from 'node:crypto';
import { credentials, makeGenericClientConstructor, status as grpcStatus, type CallOptions, type ChannelCredentials, type Client, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBuiltCli, isAlive, startBuiltUp, stopBuiltUp } from './fixtures/built-cli.js';
import { EventBus, readNatsCredentialsFile, USAGE_STREAM } from '../../libs/events/index.js';

/** Tries to connect for `ms`; the last error the bus reported, or 'connected'. */
async function natsConnectOutcome(url: string, credentials: { user: string; password: string } | undefined, ms = 2000): Promise<string> {
  const abort = new AbortController();
  let last = '';
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    const bus = await EventBus.connect(
      { servers: [url], stream: USAGE_STREAM, ...(credentials ? { credentials } : {}) },
      { signal: abort.signal, retryMs: 200, onError: (err) => void (last = err instanceof Error ? err.message : String(err)) },
    );
    await bus.close();
    return 'connected';
  } catch {
    return last;
  } finally {
    clearTimeout(timer);
  }
}

interface Federation {
  grids: { name: string; areaCode: string; natsUrl: string; natsCredentialsFile: string; gridManagerPublicKey: string; clientConfig: string; adminIdentity: string }[];
  services: { role: string; name: string; address: string; publicKey?: string; tlsPin?: string; metrics?: string; pid: number; dataDir: string }[];
}

/** The certificate `openssl s_client` is shown at `address` (PEM), or its output when it shows none. */
function opensslCertificate(address: string): string {
  // s_client's exit status says whether the chain verified (it cannot: the certificate is self-signed); what counts is what it saw.
  const out = spawnSync('openssl', ['s_client', '-connect', address, '-servername', 'intergrid'], { input: '', timeout: 10_000 }).stdout.toString();
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out);
  return m ? m[0] : out;
}

/** The status of a grpc.health.v1 check over plaintext (no TLS). */
function plaintextHealth(address: string): Promise<number> {
  const Health = makeGenericClientConstructor(healthService as ServiceDefinition, 'Health') as unknown as new (a: string, c: ChannelCredentials) => Client & {
    Check(req: { service: string }, opts: CallOptions, cb: (err: ServiceError | null) => void): void;
  };
  const c = new Health(address, credentials.createInsecure());
  return new Promise((resolve) =>
    c.Check({ service: '' }, { deadline: Date.now() + 5000 }, (err) => {
      c.close();
      resolve(err ? err.code : grpcStatus.OK);
    }),
  );
}

/** The sum of a Prometheus counter's samples (all label sets) whose labels contain `labelPart`. */
function counterSum(text: string, name: string, labelPart: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m && m[1]!.includes(labelPart)) sum += Number(m[2]);
  }
  return sum;
}

const upArgs = (dir: string): string[] => ['--dir', dir, '--grids', '2', '--servers', '10'];
// INTERGRID_LOG_LEVEL=info (the test process runs at warn): the log check below needs the per-call lines, and
// finding them proves `up` hands the variable to every child.
const UP_ENV = { INTERGRID_LOG_LEVEL: 'info' };

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('intergrid up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-up-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves put/get locally and long-distance, survives 7 of 10 servers killed, stops cleanly and restarts on the same data', async () => {
    const gridDir = join(dir, 'g');
    const first = await startBuiltUp(upArgs(gridDir), UP_ENV);
    const federation = JSON.parse(readFileSync(first.federationPath, 'utf8')) as Federation;
    const count = (role: string, grid?: string) => federation.services.filter((s) => s.role === role && (!grid || s.name.startsWith(grid + '/'))).length;
    expect(count('clearinghouse')).toBe(1);
    for (const g of ['a', 'b']) {
      expect(count('grid-manager', g)).toBe(1);
      expect(count('storage-server', g)).toBe(10);
      expect(count('contact-point', g)).toBe(2);
      expect(count('gateway', g)).toBe(1);
      expect(count('nats', g)).toBe(1);
    }
    const natsAddresses = federation.services.filter((s) => s.role === 'nats').map((s) => s.address);
    expect(federation.grids.map((g) => g.natsUrl)).toEqual(natsAddresses.map((a) => `nats://${a}`));
    // Each grid's nats-server requires that grid's credentials (kept 0600 in the run dir); without them it refuses.
    const natsPasswords: string[] = [];
    for (const g of federation.grids) {
      expect(statSync(g.natsCredentialsFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(gridDir, g.name, 'nats', 'nats-server.conf')).mode & 0o777).toBe(0o600);
      const creds = readNatsCredentialsFile(g.natsCredentialsFile);
      natsPasswords.push(creds.password);
      expect(await natsConnectOutcome(g.natsUrl, undefined)).toMatch(/[Aa]uthorization/);
      expect(await natsConnectOutcome(g.natsUrl, creds)).toBe('connected');
    }
    expect(new Set(natsPasswords).size).toBe(federation.grids.length);
    for (const s of federation.services) expect(isAlive(s.pid)).toBe(true);
    const storage = federation.services.filter((s) => s.role === 'storage-server' && s.name.startsWith('a/'));
    const clientConfig = federation.grids[0]!.clientConfig;
    const remoteClientConfig = federation.grids[1]!.clientConfig;

    const data = randomBytes(3 * 1024 * 1024 + 17);
    const input = join(dir, 'in.bin');
    writeFileSync(input, data);
    const put = await runBuiltCli(['put', input, '--config', clientConfig]);
    expect(put.code, put.stderr).toBe(0);
    const cap = put.stdout.trim();
    expect(cap).toMatch(/^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:3145745:101$/);

    const out1 = join(dir, 'out1.bin');
    const get1 = await runBuiltCli(['get', cap, '--config', clientConfig, '-o', out1]);
    expect(get1.code, get1.stderr).toBe(0);
    expect(sha(readFileSync(out1))).toBe(sha(data));

    // Long distance: grid b's client fetches grid a's file through b's gateway and a's contact points.
    const outRemote = join(dir, 'out-remote.bin');
    const getRemote = await runBuiltCli(['get', cap, '--config', remoteClientConfig, '-o', outRemote]);
    expect(getRemote.code, getRemote.stderr).toBe(0);
    expect(sha(readFileSync(outRemote))).toBe(sha(data));

    // Grid b's gateway published the client's usage event on b's nats-server; b's grid manager tallied it.
    const gmB = federation.services.find((s) => s.role === 'grid-manager' && s.name.startsWith('b/'))!;
    let transfers: { remoteAreaCode: string; bytes: number; transfers: number; units: number }[] = [];
    for (let i = 0; i < 60 && transfers.length === 0; i++) {
      const usage = await runBuiltCli(['grid', 'usage', '--admin', federation.grids[1]!.adminIdentity, '--grid-manager', gmB.address, '--json']);
      expect(usage.code, usage.stderr).toBe(0);
      transfers = (JSON.parse(usage.stdout) as { transfers: typeof transfers }).transfers;
      if (transfers.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ remoteAreaCode: '101', transfers: 1 });
    expect(transfers[0]!.bytes).toBeGreaterThanOrEqual(data.length);

    // The operator's commands as the README gives them: `up` wrote the clearinghouse's address into its admin.json.
    const chAdmin = join(gridDir, 'clearinghouse', 'admin.json');
    let ledgerOut = '';
    for (let i = 0; i < 60 && !ledgerOut.includes('101'); i++) {
      const ledger = await runBuiltCli(['clearinghouse', 'ledger', '--admin', chAdmin]);
      expect(ledger.code, ledger.stderr).toBe(0);
      ledgerOut = ledger.stdout;
      if (!ledgerOut.includes('101')) await new Promise((r) => setTimeout(r, 500));
    }
    expect(ledgerOut).toMatch(/101/);
    const closed = await runBuiltCli(['clearinghouse', 'close-period', '--admin', chAdmin]);
    expect(closed.code, closed.stderr).toBe(0);
    const statement = await runBuiltCli(['clearinghouse', 'statement', '--admin', chAdmin, '--json']);
    expect(statement.code, statement.stderr).toBe(0);
    expect(statement.stdout).toMatch(/summary|balances/);

    // Every `intergrid serve` process serves /metrics on the loopback port federation.json records.
    const served = federation.services.filter((s) => s.role !== 'nats');
    for (const s of served) expect(s.metrics, s.name).toMatch(/^127\.0\.0\.1:\d+$/);
    const scrape = async (role: string, grid: string): Promise<string> => {
      const s = served.find((x) => x.role === role && x.name.startsWith(grid + '/'))!;
      const res = await fetch(`http://${s.metrics}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    // b's gateway served the client's long-distance fetch; a's contact points served b's gateway.
    expect(counterSum(await scrape('gateway', 'b'), 'intergrid_rpc_requests_total', 'code="OK"')).toBeGreaterThan(0);
    const cpA = await Promise.all(served.filter((x) => x.role === 'contact-point' && x.name.startsWith('a/')).map((s) => fetch(`http://${s.metrics}/metrics`).then((r) => r.text())));
    expect(cpA.reduce((n, t) => n + counterSum(t, 'intergrid_rpc_sent_bytes_total', 'method='), 0)).toBeGreaterThanOrEqual(data.length);

    // Every service speaks TLS only: openssl s_client sees the certificate whose key federation.json pins,
    // and a plaintext gRPC call fails.
    for (const s of served) {
      const pem = opensslCertificate(s.address);
      expect(pem, s.name).toContain('-----BEGIN CERTIFICATE-----');
      const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
      expect(createHash('sha256').update(spki).digest('hex'), s.name).toBe(s.tlsPin);
    }
    for (const s of served.filter((x) => ['clearinghouse', 'grid-manager', 'gateway', 'contact-point'].includes(x.role) || x === storage[0])) {
      expect(await plaintextHealth(s.address), s.name).toBe(grpcStatus.UNAVAILABLE);
    }

    for (const s of storage.slice(0, 7)) process.kill(s.pid, 'SIGKILL');
    const out2 = join(dir, 'out2.bin');
    const get2 = await runBuiltCli(['get', cap, '--config', clientConfig, '-o', out2]);
    expect(get2.code, get2.stderr).toBe(0);
    expect(sha(readFileSync(out2))).toBe(sha(data));
    const outRemote2 = join(dir, 'out-remote2.bin');
    const getRemote2 = await runBuiltCli(['get', cap, '--config', remoteClientConfig, '-o', outRemote2]);
    expect(getRemote2.code, getRemote2.stderr).toBe(0);
    expect(sha(readFileSync(outRemote2))).toBe(sha(data));

    expect(await stopBuiltUp(first.proc)).toBe(0);
    for (const s of federation.services) expect(isAlive(s.pid)).toBe(false);

    // Same dir again: same grid key, the stored shares are still there.
    const second = await startBuiltUp(upArgs(gridDir), UP_ENV);
    try {
      const again = JSON.parse(readFileSync(second.federationPath, 'utf8')) as Federation;
      expect(again.grids[0]!.gridManagerPublicKey).toBe(federation.grids[0]!.gridManagerPublicKey);
      // Each grid's nats-server is back on the port chosen at the first start.
      expect(again.grids.map((g) => g.natsUrl)).toEqual(federation.grids.map((g) => g.natsUrl));
      // And keeps its credentials (the services' configs still hold them).
      expect(again.grids.map((g) => readNatsCredentialsFile(g.natsCredentialsFile).password)).toEqual(natsPasswords);
      const out3 = join(dir, 'out3.bin');
      const get3 = await runBuiltCli(['get', cap, '--config', again.grids[0]!.clientConfig, '-o', out3]);
      expect(get3.code, get3.stderr).toBe(0);
      expect(sha(readFileSync(out3))).toBe(sha(data));
    } finally {
      expect(await stopBuiltUp(second.proc)).toBe(0);
    }

    // Every service's log (one JSON line per call among them): no read-cap, no secret key of any key file.
    const files = readdirSync(gridDir, { recursive: true, encoding: 'utf8' }).map((f) => join(gridDir, f));
    const logs = files.filter((f) => f.endsWith('.log')).map((f) => readFileSync(f, 'utf8'));
    expect(logs.length).toBeGreaterThanOrEqual(20);
    const all = logs.join('\n');
    expect(all).toContain('"msg":"rpc"');
    expect(all).not.toContain('URI:CHK:');
    expect(all).not.toContain(cap.split(':')[2]!);
    const secrets = files
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        try {
          return (JSON.parse(readFileSync(f, 'utf8')) as { secretKey?: unknown }).secretKey;
        } catch {
          return undefined; // not JSON (a half-written file is impossible here: writes are atomic)
        }
      })
      .filter((k): k is string => typeof k === 'string');
    expect(secrets.length).toBeGreaterThanOrEqual(20);
    for (const k of secrets) expect(all).not.toContain(k);
    for (const pw of natsPasswords) expect(all).not.toContain(pw);
  }, 180_000);
});
