/**
 * How client commands (put, get, check) open their grid connection: load
 * client.json, connect, and write a renewed certificate back to client.json
 * so the account keeps working past its certificate's original lifetime.
 */
import { loadClientConfig, writeClientConfig, connectGrid, type GridConnection } from '../../libs/client/index.js';

export async function openClient(configPath: string): Promise<GridConnection> {
  const config = loadClientConfig(configPath);
  return connectGrid(config, {
    onCertificateRenewed: (certificate) => {
      try {
        writeClientConfig(configPath, { ...config, certificate });
      } catch (err) {
        // The renewed certificate still serves this run; say why it was not kept.
        process.stderr.write(`intergrid: warning: could not save the renewed certificate to ${configPath}: ${(err as Error).message}\n`);
      }
    },
  });
}
