/**
 * deploy/: the compose file, the Dockerfile and the bootstrap, checked without
 * a container engine but for real everywhere else.
 *
 * - `docker-compose -f deploy/docker-compose.yml config -q` (Debian's
 *   docker-compose 1.29) accepts the file: run when it is on PATH, a failure
 *   under CI=true when it is missing, skipped with one line locally.
 * - The file parsed (yaml): every command a service runs exists in the built
 *   CLI, every file it names exists in the repository or the image, every
 *   volume is declared and mounted at a directory the image creates for the
 *   service user, every long-running service has a health check, the start
 *   order has no cycle.
 * - deploy/bootstrap.sh runs, phase by phase, on loopback against a real
 *   clearinghouse and two real grid managers (`intergrid serve`, ephemeral
 *   ports, addresses from the environment as in the compose file) and two
 *   nats-servers started with the compose file's own arguments. A grid
 *   manager down mid-way is one clear line; the rerun finishes the job;
 *   rerunning every phase skips every step and changes no key. Every
 *   `--config` a compose service names is then a file the bootstrap wrote in
 *   that service's volume, accepted by the service's own loader, with its data
 *   dir inside the volume and the health check's port as its listen port, and
 *   each service waits for the bootstrap phase that last wrote its config.
 *   Grid a's storage servers, contact point and gateway start from those
 *   configs and answer the compose health checks; a put/get with the client
 *   config the bootstrap wrote works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freePort, portAccepts } from '../../libs/net/index.js';
import { loadClientConfig } from '../../libs/client/index.js';
import { connectClearinghouse } from '../../libs/federation/index.js';
import { connectGridManager } from '../../libs/grid/index.js';
import { loadClearinghouseAdmin, loadClearinghouseConfig } from '../../services/clearinghouse/index.js';
import { loadAdminIdentity, loadGridManagerConfig } from '../../services/grid-manager/index.js';
import { loadStorageConfig } from '../../services/storage/index.js';
import { loadContactPointConfig } from '../../services/contact-point/index.js';
import { loadGatewayConfig } from '../../services/gateway/index.js';
import { SERVICE_NAMES } from '../../services/cli/commands/serve.js';
import { findNatsServer } from '../../services/cli/launcher/nats-binary.js';
import { EventBus, USAGE_STREAM, type NatsCredentials } from '../../libs/events/index.js';
import { builtCli, runBuiltCli, serveBuilt, type ServedProcess } from './fixtures/built-cli.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(REPO, 'deploy');
const COMPOSE_FILE = join(DEPLOY, 'docker-compose.yml');
const BOOTSTRAP = join(DEPLOY, 'bootstrap.sh');
/** Where the image keeps every volume (deploy/Dockerfile); mapped to a temp dir here. */
const DATA_ROOT = '/var/lib/intergrid';
const INTERGRID_IMAGE = 'intergrid:local';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const intergridServices = services.filter(([, s]) => s.image === INTERGRID_IMAGE);
/** `intergrid serve <service> --config FILE` services: name → {service, config}. */
const served = new Map(
  intergridServices
    .filter(([, s]) => s.command?.[0] === 'serve')
    .map(([name, s]) => {
      const c = s.command!;
      expect(c.length, `${name}: ${c.join(' ')}`).toBe(4);
      expect(c[2], `${name}: ${c.join(' ')}`).toBe('--config');
      return [name, { service: c[1]!, config: c[3]! }] as const;
    }),
);
const bootstrapPhases = new Map(intergridServices.filter(([, s]) => s.entrypoint?.includes('/opt/intergrid/deploy/bootstrap.sh')).map(([name, s]) => [s.command![0]!, name]));
const longRunning = services.filter(([, s]) => s.restart !== 'no' && !s.profiles);

function mounts(s: ComposeService): Array<{ volume: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    const [volume, target] = v.split(':');
    return { volume: volume!, target: target! };
  });
}
/** The compose service's mount holding `path`, if any. */
function mountOf(s: ComposeService, path: string): { volume: string; target: string } | undefined {
  return mounts(s).find((m) => path === m.target || path.startsWith(m.target + '/'));
}

const dockerfileText = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const dockerfileLines = dockerfileText.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

const hasDockerCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;
if (!hasDockerCompose && process.env.CI !== 'true') {
  console.log('deploy.test: docker-compose not on PATH, skipping `docker-compose config -q` (apt-get install docker-compose; CI installs it)');
}

describe('deploy/docker-compose.yml and deploy/Dockerfile', () => {
  it.skipIf(!hasDockerCompose && process.env.CI !== 'true')('docker-compose config -q accepts the file', () => {
    if (!hasDockerCompose) throw new Error('docker-compose is not on PATH under CI=true: .ci/run installs it (apt-get install docker-compose)');
    const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8', env: { ...process.env, ...NATS_PASSWORDS } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  }, 60_000);

  it('has a clearinghouse and two grids: grid manager, 3 storage servers, gateway, contact point and nats-server each', () => {
    const byService = (svc: string) => [...served.values()].filter((s) => s.service === svc).length;
    expect(byService('clearinghouse')).toBe(1);
    expect(byService('grid-manager')).toBe(2);
    expect(byService('storage')).toBe(6);
    expect(byService('gateway')).toBe(2);
    expect(byService('contact-point')).toBe(2);
    expect(services.filter(([, s]) => s.image?.startsWith('nats:')).length).toBe(2);
    expect([...bootstrapPhases.keys()].sort()).toEqual(['federation', 'grids', 'init']);
  });

  it('the Dockerfile: multi-stage, non-root, copies files that exist, creates every mount point of the image', () => {
    for (const [name, s] of intergridServices) {
      expect(s.build, name).toBeDefined();
      expect(existsSync(resolve(DEPLOY, s.build!.context, s.build!.dockerfile)), name).toBe(true);
      expect(resolve(DEPLOY, s.build!.context), name).toBe(REPO);
    }
    const froms = dockerfileLines.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfileLines.slice(dockerfileLines.lastIndexOf(froms.at(-1)!));
    const user = runtime.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toMatch(/^USER\s+intergrid/);
    // Files copied from the build context exist; the build stage's proto/, dist/libs, dist/services and node_modules reach the runtime stage.
    for (const l of dockerfileLines.filter((x) => /^COPY\s/i.test(x) && !/--from/.test(x))) {
      const parts = l.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) expect(existsSync(join(REPO, src)), `${l}: ${src}`).toBe(true);
    }
    for (const need of ['node_modules', 'dist/libs', 'dist/services', 'proto', 'package.json']) {
      expect(runtime.some((l) => new RegExp(`^COPY --from=build /src/${need}\\s`).test(l)), need).toBe(true);
    }
    expect(runtime).toContain('COPY deploy/bootstrap.sh ./deploy/bootstrap.sh');
    expect(runtime.filter((l) => /^WORKDIR\s/.test(l))[0]).toBe('WORKDIR /opt/intergrid');
    expect(existsSync(join(REPO, 'dist/services/cli/main.js'))).toBe(true);
    // Every volume an intergrid container mounts is a directory the image creates (owned by the service user).
    const dirs = /for d in ([^;]+);/.exec(dockerfileText)![1]!.trim().split(/\s+/);
    for (const [name, s] of intergridServices) {
      for (const m of mounts(s)) {
        expect(m.target.startsWith(DATA_ROOT + '/'), `${name}: ${m.target}`).toBe(true);
        expect(dirs, `${name}: ${m.target}`).toContain(relative(DATA_ROOT, m.target));
      }
    }
  });

  it('volumes: every one used is declared, every declared one is used, each service data volume is mounted once', () => {
    const used = new Set(services.flatMap(([, s]) => mounts(s).map((m) => m.volume)));
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
    for (const [name, s] of longRunning) expect(mounts(s).length, name).toBe(1);
    // No two long-running services share a volume: each data dir is its own.
    const owners = longRunning.map(([, s]) => mounts(s)[0]!.volume);
    expect(new Set(owners).size).toBe(owners.length);
  });

  it('every command exists: serve <service>, health, the bootstrap phases; every long-running service has a health check', async () => {
    for (const [name, s] of served) expect(SERVICE_NAMES, name).toContain(s.service);
    for (const args of [['serve', '--help'], ['health', '--help'], ['--help']]) {
      const r = await runBuiltCli(args);
      expect(r.code, `intergrid ${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    for (const [name, s] of intergridServices.filter(([, x]) => x.entrypoint)) {
      expect(s.entrypoint, name).toEqual(['/bin/sh', '/opt/intergrid/deploy/bootstrap.sh']);
      expect(readFileSync(BOOTSTRAP, 'utf8')).toMatch(new RegExp(`^  ${s.command![0]}\\) phase_`, 'm'));
    }
    const cli = compose.services.cli!;
    expect(cli.command).toEqual(['--help']);
    for (const [name, s] of longRunning) {
      expect(s.healthcheck?.test, name).toBeDefined();
      if (s.image === INTERGRID_IMAGE) expect(s.healthcheck!.test.slice(0, 3), name).toEqual(['CMD', 'intergrid', 'health']);
    }
    const sh = spawnSync('sh', ['-n', BOOTSTRAP]);
    expect(sh.status, String(sh.stderr)).toBe(0);
  }, 60_000);

  it('start order: every dependency exists, conditions are health or completion, no cycle; bootstraps wait for what they call', () => {
    const deps = (n: string) => Object.entries(compose.services[n]!.depends_on ?? {});
    for (const [name] of services) {
      for (const [d, c] of deps(name)) {
        expect(compose.services[d], `${name} → ${d}`).toBeDefined();
        if (compose.services[d]!.restart === 'no') expect(c.condition, `${name} → ${d}`).toBe('service_completed_successfully');
        else expect(c.condition, `${name} → ${d}`).toBe('service_healthy');
      }
    }
    const seen = new Set<string>();
    const visiting = new Set<string>();
    const visit = (n: string): void => {
      if (seen.has(n)) return;
      expect(visiting.has(n), `dependency cycle through ${n}`).toBe(false);
      visiting.add(n);
      for (const [d] of deps(n)) visit(d);
      visiting.delete(n);
      seen.add(n);
    };
    for (const [name] of services) visit(name);
    const needs = (n: string) => new Set(deps(n).map(([d]) => d));
    expect(needs(bootstrapPhases.get('init')!).size).toBe(0);
    expect([...needs(bootstrapPhases.get('federation')!)]).toContain('clearinghouse');
    const gms = [...served].filter(([, s]) => s.service === 'grid-manager').map(([n]) => n);
    for (const gm of [...gms, 'clearinghouse']) expect([...needs(bootstrapPhases.get('grids')!)]).toContain(gm);
  });
});

// ---------------------------------------------------------------------------
// The bootstrap, for real on loopback.

let root: string;
const processes: ServedProcess[] = [];
const natsChildren: ChildProcess[] = [];
const ports = new Map<string, number>();
/** Config path (compose form) → the phase that last changed it. */
const lastWriter = new Map<string, string>();
let bootstrapEnv: NodeJS.ProcessEnv;

const local = (composePath: string): string => join(root, relative(DATA_ROOT, composePath));
const healthPort = (s: ComposeService): number => Number(s.healthcheck!.test.at(-1)!.split(':').at(-1));

async function runBootstrap(phase: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', [BOOTSTRAP, phase], { env: { ...process.env, ...bootstrapEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}

/**
 * sha256 of every file the bootstrap may write under the data root (keys,
 * certificates, configs, markers), by path relative to it; the services' own
 * databases (data/) and the nats stores change while they run and are left out.
 */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'data' && !e.name.endsWith('-store')) walk(p);
      }
      else if (e.isFile()) out.set(relative(root, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}
function recordPhase(phase: string, before: Map<string, string>): void {
  for (const [p, h] of snapshot()) if (before.get(p) !== h) lastWriter.set(join(DATA_ROOT, p), phase);
}
const keyFiles = (snap: Map<string, string>) => new Map([...snap].filter(([p]) => /key\.json$/.test(p)));

/** The grids' NATS passwords, as an operator puts them in deploy/.env (compose interpolates them). */
const NATS_PASSWORDS = { NATS_PASSWORD_A: 'a'.repeat(8) + createHash('sha256').update('nats-a').digest('hex').slice(0, 24), NATS_PASSWORD_B: 'b'.repeat(8) + createHash('sha256').update('nats-b').digest('hex').slice(0, 24) };

/** Connects for up to 2 s: 'connected', or the last error the bus reported. */
async function natsLogin(url: string, credentials?: NatsCredentials): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 2000);
  let last = '';
  try {
    const bus = await EventBus.connect({ servers: [url], stream: USAGE_STREAM, ...(credentials ? { credentials } : {}) }, { signal: abort.signal, retryMs: 200, onError: (e) => void (last = String(e)) });
    await bus.close();
    return 'connected';
  } catch {
    return last;
  } finally {
    clearTimeout(timer);
  }
}

/** Compose's ${VAR} / ${VAR:?message} interpolation of one argument, from `env` (a missing variable is an error, as compose makes it). */
function interpolate(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\{([A-Z0-9_]+)(:\?[^}]*)?\}/g, (_m, v: string) => {
    const value = env[v];
    if (value === undefined) throw new Error(`compose variable ${v} is not set`);
    return value;
  });
}

/** A nats-server started with a compose nats service's own arguments, on loopback ports. */
async function startComposeNats(name: string): Promise<string> {
  const bin = findNatsServer();
  if (!bin) throw new Error("nats-server not found: install it with 'apt-get install nats-server'");
  const s = compose.services[name]!;
  const args = s.command!.map((a) => interpolate(a, NATS_PASSWORDS));
  const store = join(root, `${name}-store`);
  args[args.indexOf('-sd') + 1] = store;
  const monitor = await freePort();
  const composeMonitor = args[args.indexOf('-m') + 1]!;
  args[args.indexOf('-m') + 1] = String(monitor);
  const port = await freePort();
  const child = spawn(bin, [...args, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  natsChildren.push(child);
  // The compose health check's URL (wget … http://127.0.0.1:8222/healthz…), on this server's monitor port.
  const url = s.healthcheck!.test.find((a) => a.startsWith('http://'))!.replace(`:${composeMonitor}/`, `:${monitor}/`);
  const until = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.status === 200 && (await portAccepts(port))) break;
    if (child.exitCode !== null) throw new Error(`${name}: nats-server exited ${child.exitCode} with the compose arguments ${args.join(' ')}`);
    if (Date.now() > until) throw new Error(`${name}: ${url} did not answer 200 within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return `nats://127.0.0.1:${port}`;
}

async function serveFromCompose(name: string, env: NodeJS.ProcessEnv = {}): Promise<ServedProcess> {
  const s = served.get(name)!;
  // The address the bootstrap was told (CLEARINGHOUSE_ADDRESS, GRID_MANAGER_ADDRESS_*), else a fresh one.
  const port = ports.get(name) ?? (await freePort());
  ports.set(name, port);
  const p = await serveBuilt(s.service, local(s.config), { env: { INTERGRID_LISTEN: `127.0.0.1:${port}`, ...env } });
  processes.push(p);
  return p;
}

/** Runs the compose service's health check command (its port mapped to the test's) with the built CLI. */
async function composeHealthCheck(name: string): Promise<void> {
  const test = compose.services[name]!.healthcheck!.test;
  const args = test.slice(2).map((a) => a.replace(/:\d+$/, `:${ports.get(name)}`));
  const r = await runBuiltCli(args);
  expect(r.code, `${name}: intergrid ${args.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/ SERVING\n$/);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'intergrid-deploy-'));
  ports.set('clearinghouse', await freePort());
  ports.set('grid-manager-a', await freePort());
  ports.set('grid-manager-b', await freePort());
  bootstrapEnv = {
    INTERGRID: `${process.execPath} ${builtCli()}`,
    INTERGRID_DEPLOY_ROOT: root,
    CLEARINGHOUSE_ADDRESS: `127.0.0.1:${ports.get('clearinghouse')}`,
    GRID_MANAGER_ADDRESS_A: `127.0.0.1:${ports.get('grid-manager-a')}`,
    GRID_MANAGER_ADDRESS_B: `127.0.0.1:${ports.get('grid-manager-b')}`,
    NATS_URL_A: await startComposeNats('nats-a'),
    NATS_URL_B: await startComposeNats('nats-b'),
    ...NATS_PASSWORDS,
  };
}, 60_000);

afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  for (const c of natsChildren) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('deploy/bootstrap.sh on loopback', () => {
  it('init, then federation against a served clearinghouse', async () => {
    let before = snapshot();
    const init = await runBootstrap('init');
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/grid b: initialised, area code 102/);
    recordPhase('init', before);

    await serveFromCompose('clearinghouse');
    before = snapshot();
    const fed = await runBootstrap('federation');
    expect(fed.code, fed.stderr).toBe(0);
    expect(fed.stdout).toMatch(/grid a: admitted as area code 101/);
    expect(fed.stdout).toMatch(/grid b: admitted as area code 102/);
    recordPhase('federation', before);
    // Invite codes never reach the output.
    expect(fed.stdout + fed.stderr).not.toMatch(/IC1-/);
  }, 120_000);

  it('grids: a grid manager down is one clear line; the rerun finishes without re-keying what was done', async () => {
    await serveFromCompose('grid-manager-a');
    const before = snapshot();
    const partial = await runBootstrap('grids');
    expect(partial.code).not.toBe(0);
    expect(partial.stdout).toMatch(/a client-a: joined as client/);
    expect(partial.stderr).toContain(`bootstrap grids: b storage-b-1: intergrid grid invite failed (is the grid manager at 127.0.0.1:${ports.get('grid-manager-b')} up?)`);
    const gridAKeys = keyFiles(snapshot());

    await serveFromCompose('grid-manager-b');
    const rerun = await runBootstrap('grids');
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/a storage-a-1: already joined/);
    expect(rerun.stdout).toMatch(/a gateway-a: already approved/);
    expect(rerun.stdout).toMatch(/b gateway-b: approved by the clearinghouse/);
    expect(rerun.stdout).toMatch(/b client-b: joined as client/);
    const after = snapshot();
    for (const [p, h] of gridAKeys) expect(after.get(p), p).toBe(h);
    recordPhase('grids', before);
    expect(partial.stdout + partial.stderr + rerun.stdout + rerun.stderr).not.toMatch(/IG1-/);
  }, 300_000);

  it('rerunning every phase skips every step and changes no file', async () => {
    const before = snapshot();
    for (const phase of ['init', 'federation', 'grids']) {
      const r = await runBootstrap(phase);
      expect(r.code, `${phase}: ${r.stderr}`).toBe(0);
      expect(r.stdout, phase).not.toMatch(/joined as|admitted as|initialised,|approved by/);
    }
    expect(snapshot()).toEqual(before);
  }, 120_000);

  it('every --config a service runs was written by the bootstrap in its volume and loads with its loader; data dir in the volume, listen port = health-check port, waits for the phase that wrote it; NATS logins match the compose nats-servers', async () => {
    const loaders: Record<string, (p: string) => { dataDir: string; listen: string }> = {
      clearinghouse: loadClearinghouseConfig,
      'grid-manager': loadGridManagerConfig,
      storage: loadStorageConfig,
      'contact-point': loadContactPointConfig,
      gateway: loadGatewayConfig,
    };
    for (const [name, { service, config }] of served) {
      const s = compose.services[name]!;
      const mount = mountOf(s, config);
      expect(mount, `${name}: ${config} is in none of its volumes`).toBeDefined();
      expect(existsSync(local(config)), `${name}: bootstrap did not write ${config}`).toBe(true);
      const loaded = loaders[service]!(local(config));
      expect(loaded.dataDir.startsWith(local(mount!.target) + '/'), `${name}: data dir ${loaded.dataDir}`).toBe(true);
      expect(Number(loaded.listen.split(':').at(-1)), `${name}: listen ${loaded.listen}`).toBe(healthPort(s));
      const phase = lastWriter.get(config);
      expect(phase, `${name}: ${config}`).toBeDefined();
      expect(s.depends_on?.[bootstrapPhases.get(phase!)!]?.condition, `${name} must wait for bootstrap ${phase}`).toBe('service_completed_successfully');
      // The bootstrap phase that wrote it mounts that same volume there.
      expect(mounts(compose.services[bootstrapPhases.get(phase!)!]!), name).toContainEqual(mount);
    }
    // Gateways present the approval the clearinghouse signed; grid managers know the clearinghouse and their nats.
    for (const g of ['a', 'b']) {
      const gw = loadGatewayConfig(local(served.get(`gateway-${g}`)!.config));
      expect(gw.certificateFiles.map((f) => f.split('/').at(-1))).toEqual(['certificate.b64', 'approval.b64']);
      expect(gw.nats?.servers).toEqual([bootstrapEnv[`NATS_URL_${g.toUpperCase()}`]]);
      // The grid's NATS login, the one its nats-server (started with the compose arguments) requires.
      const login = { user: 'intergrid', password: NATS_PASSWORDS[`NATS_PASSWORD_${g.toUpperCase()}` as keyof typeof NATS_PASSWORDS] };
      expect(gw.nats?.credentials).toEqual(login);
      const gm = loadGridManagerConfig(local(served.get(`grid-manager-${g}`)!.config));
      expect(gm.nats?.credentials).toEqual(login);
      // …and refuses a connection without it.
      expect(await natsLogin(gw.nats!.servers[0]!)).toMatch(/[Aa]uthorization/);
      expect(await natsLogin(gw.nats!.servers[0]!, gw.nats!.credentials)).toBe('connected');
      expect(gm.clearinghouse?.address).toBe(bootstrapEnv.CLEARINGHOUSE_ADDRESS);
      expect(gm.areaCode).toBe(g === 'a' ? '101' : '102');
      const client = loadClientConfig(local(`${DATA_ROOT}/${g}/client/client.json`));
      expect(client.gateway?.address).toBe(`gateway-${g}:7500`);
      expect(statSync(local(`${DATA_ROOT}/${g}/client/client.json`)).mode & 0o777).toBe(0o600);
    }
  });

  it("grid a's storage servers, contact point and gateway start from the written configs and pass the compose health checks; put/get with the written client.json", async () => {
    for (const name of ['clearinghouse', 'grid-manager-a', 'grid-manager-b']) await composeHealthCheck(name);
    for (const name of ['storage-a-1', 'storage-a-2', 'storage-a-3', 'contact-point-a']) {
      const port = await freePort();
      const addr = `127.0.0.1:${port}`;
      ports.set(name, port);
      processes.push(await serveBuilt(served.get(name)!.service, local(served.get(name)!.config), { env: { INTERGRID_LISTEN: addr, INTERGRID_ADVERTISE_ADDRESS: addr } }));
    }
    await serveFromCompose('gateway-a');
    for (const name of ['storage-a-1', 'storage-a-2', 'storage-a-3', 'contact-point-a', 'gateway-a']) await composeHealthCheck(name);

    const admin = loadAdminIdentity(local(`${DATA_ROOT}/a/grid-manager/admin.json`));
    const gm = connectGridManager(bootstrapEnv.GRID_MANAGER_ADDRESS_A!, admin.identity, { gridManagerPublicKey: admin.gridManager.publicKey });
    const operator = loadClearinghouseAdmin(local(`${DATA_ROOT}/clearinghouse/admin.json`));
    const ch = connectClearinghouse(bootstrapEnv.CLEARINGHOUSE_ADDRESS!, operator.identity, { clearinghousePublicKey: operator.clearinghouse.publicKey });
    try {
      const until = Date.now() + 30_000;
      while ((await gm.getDirectory()).servers.length < 3 || !(await ch.listGrids()).some((g) => g.areaCode === '101' && g.contactPoints >= 1)) {
        if (Date.now() > until) throw new Error('storage servers did not announce, or the contact point did not register, within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      gm.close();
      ch.close();
    }

    const clientConfig = local(`${DATA_ROOT}/a/client/client.json`);
    const data = createHash('sha256').update('deploy').digest().toString('hex').repeat(3000);
    writeFileSync(join(root, 'in.txt'), data);
    const put = await runBuiltCli(['put', join(root, 'in.txt'), '--config', clientConfig]);
    expect(put.code, put.stderr).toBe(0);
    const got = await runBuiltCli(['get', put.stdout.trim(), '--config', clientConfig]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(data);
  }, 240_000);
});
