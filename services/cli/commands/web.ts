/**
 * `intergrid web --config CLIENT.json [--listen HOST:PORT] [--admin ADMIN.json …]`:
 * the web API and dashboard (docs/web.md) for the client whose config this
 * is, until SIGINT/SIGTERM. Each --admin (a grid admin's or the clearinghouse
 * operator's admin.json) adds its service's status to the dashboard. Prints `listening http://HOST:PORT` once it
 * answers (port 0 picks a free port).
 */
import { loadClientConfig } from '../../../libs/client/index.js';
import { startWebServer, listensBeyondLoopback } from '../../web/server.js';
import { loadAdminTarget } from '../status/service-config.js';
import { openClient } from '../client-session.js';

export interface WebOptions {
  config: string;
  listen: string;
  admin?: string[];
}

export async function webCommand(opts: WebOptions): Promise<void> {
  // A bad client.json or admin identity is a clear error now, not on the first request.
  loadClientConfig(opts.config);
  const admins = (opts.admin ?? []).map((path) => loadAdminTarget(path));
  const { createDashboard } = await import('../../web/dashboard.js');
  const pages = createDashboard({ clientConfig: opts.config, admins });
  const web = await startWebServer({
    listen: opts.listen,
    openClient: () => openClient(opts.config),
    pages,
  });
  if (listensBeyondLoopback(opts.listen)) {
    process.stderr.write(`intergrid web: warning: listening beyond loopback (${opts.listen}): anyone who reaches it uploads on this account and sees the status page\n`);
  }
  process.stdout.write(`listening ${web.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await web.close();
}
