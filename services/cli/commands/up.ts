/**
 * `intergrid up --dir DIR [--grids N] [--servers N] [--share-backend disk|s3]`: a local federation on
 * loopback, each service its own process started exactly as an operator
 * would (`intergrid serve …`), plus one nats-server per grid for usage events
 * (installed with apt-get when missing and running as root; else one line
 * saying how); with `--share-backend s3` the storage servers keep their
 * shares in one bucket of a one-host Ceph cluster under DIR/ceph (Ceph
 * installed the same way). Keys and data under DIR are reused on the next
 * run; addresses (port 0) are fresh each run, so configs are rewritten.
 * Prints `ready <federation.json>` once everything answers and runs until
 * SIGINT/SIGTERM, then stops every child.
 */
import { startFederation, type FederationOptions } from '../launcher/federation.js';

export type { FederationFile } from '../launcher/supervisor.js';

export async function upCommand(opts: FederationOptions): Promise<void> {
  const federation = await startFederation(opts);
  process.stdout.write(`ready ${federation.federationPath}\n`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await federation.stop();
}
