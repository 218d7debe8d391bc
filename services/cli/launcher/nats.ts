/**
 * One nats-server (JetStream) per grid of a local federation (DESIGN.md
 * "Events inside a grid", docs/events.md "intergrid up"). Its config file,
 * store and state live under DIR/<grid>/nats/; the port is chosen (free,
 * loopback) at the first start and kept in nats/state.json, so a rerun serves
 * on the same URL. Supervised like the other children (SIGTERM on stop).
 *
 * Each grid's nats-server requires a user and password (docs/events.md
 * "Credentials"): generated at the first start, kept in
 * DIR/<grid>/nats/credentials.json (mode 0600) and reused on reruns, written
 * into that grid's grid manager and gateway configs. A connection without
 * them is refused, so nothing else on the machine can publish usage events.
 */
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { freePort, portAccepts, portFree } from '../../../libs/net/index.js';
import { join } from 'node:path';
import { readJsonObjectIfPresent, writeJsonAtomic } from '../../../libs/config/index.js';
import { UnavailableError } from '../../../libs/errors/index.js';
import { generateNatsCredentials, readNatsCredentialsFile, writeNatsCredentialsFile, type NatsCredentials } from '../../../libs/events/index.js';
import type { ServiceChild } from '../child-process.js';
import type { Supervisor, ServiceRecord } from './supervisor.js';

export interface LaunchedNats {
  /** nats://127.0.0.1:PORT */
  url: string;
  /** The user and password the server requires. */
  credentials: NatsCredentials;
  /** DIR/<grid>/nats/credentials.json (mode 0600): for `intergrid join --nats-credentials`. */
  credentialsFile: string;
  record: ServiceRecord;
}

/** The credentials of an earlier run when the file is intact, else new ones (written 0600). */
function chooseCredentials(path: string, grid: string): NatsCredentials {
  try {
    return readNatsCredentialsFile(path);
  } catch {
    const fresh = generateNatsCredentials(`intergrid-${grid}`);
    writeNatsCredentialsFile(path, fresh);
    return fresh;
  }
}

/** The port recorded by an earlier run when it is still free, else a new free one (recorded). */
async function choosePort(statePath: string): Promise<number> {
  const state = readJsonObjectIfPresent(statePath);
  const recorded = typeof state?.port === 'number' && Number.isInteger(state.port) ? state.port : undefined;
  if (recorded !== undefined && (await portFree(recorded))) return recorded;
  const port = await freePort();
  writeJsonAtomic(statePath, { port }, 0o644);
  return port;
}

/**
 * Writes DIR/<grid>/nats/nats-server.conf and starts `nats-server -c` on it;
 * resolves once it logged "Server is ready" (JetStream store recovered) and
 * accepts connections. The child is registered with the supervisor at once.
 * @throws UnavailableError naming the log file when it exits or does not start in time.
 */
export async function launchNats(sup: Supervisor, bin: string, grid: { name: string; areaCode: string; dir: string }, timeoutMs = 30_000): Promise<LaunchedNats> {
  const natsDir = join(grid.dir, 'nats');
  const storeDir = join(natsDir, 'store');
  mkdirSync(storeDir, { recursive: true });
  const port = await choosePort(join(natsDir, 'state.json'));
  const credentialsFile = join(natsDir, 'credentials.json');
  const credentials = chooseCredentials(credentialsFile, grid.name);
  const configPath = join(natsDir, 'nats-server.conf');
  // Mode 0600: it holds the password (the schema allows no quote or backslash in it, so JSON quoting is exact).
  writeFileSync(
    configPath,
    [
      '# written by intergrid up; rewritten on every run',
      `server_name: intergrid-${grid.name}`,
      'host: 127.0.0.1',
      `port: ${port}`,
      `authorization {\n  user: ${JSON.stringify(credentials.user)}\n  password: ${JSON.stringify(credentials.password)}\n}`,
      `jetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  chmodSync(configPath, 0o600);
  const name = `${grid.name}/nats`;
  const logFile = join(sup.dir, 'logs', `${grid.name}-nats.log`);
  mkdirSync(join(sup.dir, 'logs'), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let recent = '';
  const onData = (b: Buffer): void => {
    log.write(b);
    recent = (recent + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;
  const serviceChild: ServiceChild = { role: 'nats', name, address, pid: child.pid!, process: child, logFile, exited };
  const record = sup.adopt(serviceChild, { role: 'nats', name, grid: grid.name, areaCode: grid.areaCode, configPath, dataDir: storeDir });
  const until = Date.now() + timeoutMs;
  while (!recent.includes('Server is ready') || !(await portAccepts(port))) {
    if (child.exitCode !== null) throw new UnavailableError(`${name} exited with code ${child.exitCode} before it was ready (log: ${logFile})`);
    if (Date.now() > until) throw new UnavailableError(`${name} did not start within ${timeoutMs} ms (log: ${logFile})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://${address}`, credentials, credentialsFile, record };
}
