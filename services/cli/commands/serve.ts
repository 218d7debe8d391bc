/**
 * `intergrid serve <service> --config FILE`: runs one service in the
 * foreground. Prints exactly one line `listening <address>` on stdout once the
 * service answers (the supervisor in `intergrid up` waits for it), preceded by
 * `metrics <address>` when the config sets `metrics.listen`; logs go to
 * stderr. SIGINT/SIGTERM drain it: health turns NOT_SERVING, new calls are
 * refused (UNAVAILABLE 'draining'), in-flight calls and streams finish (up to
 * DRAIN_MS, then they are cancelled), and the process exits 0. A second signal
 * during the drain kills it (the default action: the handlers are one-shot).
 */
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { setDefaultDrainMs } from '../../../libs/rpc/index.js';
import { SERVICE_NAMES, type ServiceName } from './service-names.js';

export { SERVICE_NAMES } from './service-names.js';

/** How long a SIGTERM waits for in-flight calls before cancelling them. */
export const DRAIN_MS = 30_000;

interface Running {
  address: string;
  metricsAddress?: string;
  stop(): Promise<void>;
}

const SERVICES: Record<ServiceName, (configPath: string) => Promise<Running>> = {
  storage: async (p) => {
    const m = await import('../../storage/index.js');
    return m.startStorageServer(m.loadStorageConfig(p));
  },
  'grid-manager': async (p) => {
    const m = await import('../../grid-manager/index.js');
    return m.startGridManager(m.loadGridManagerConfig(p));
  },
  clearinghouse: async (p) => {
    const m = await import('../../clearinghouse/index.js');
    return m.startClearinghouse(m.loadClearinghouseConfig(p));
  },
  'contact-point': async (p) => {
    const m = await import('../../contact-point/index.js');
    return m.startContactPoint(m.loadContactPointConfig(p));
  },
  gateway: async (p) => {
    const m = await import('../../gateway/index.js');
    return m.startGateway(m.loadGatewayConfig(p));
  },
};


export async function serveCommand(service: string, configPath: string): Promise<void> {
  const start = (SERVICE_NAMES as readonly string[]).includes(service) ? SERVICES[service as ServiceName] : undefined;
  if (!start) {
    throw new InvalidArgumentError(`unknown service '${service}', expected one of: ${SERVICE_NAMES.join(', ')}`);
  }
  // A bad INTERGRID_LOG_LEVEL stops it here, before the config is read (ConfigError, exit 2). Imported
  // here, like the services, so other commands do not load libs/metrics (prom-client).
  (await import('../../../libs/metrics/index.js')).logLevelFromEnv(process.env);
  setDefaultDrainMs(DRAIN_MS);
  const running = await start(configPath);
  if (running.metricsAddress) process.stdout.write(`metrics ${running.metricsAddress}\n`);
  process.stdout.write(`listening ${running.address}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
}
