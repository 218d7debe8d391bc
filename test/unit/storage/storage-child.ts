/**
 * Runs one storage server in a child process for the crash test:
 * `node --import tsx storage-child.ts <config.json>`; prints
 * `listening <address>` when ready and runs until killed.
 */
import { pino } from 'pino';
import { loadStorageConfig, startStorageServer } from '../../../services/storage/index.js';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: storage-child.ts <config.json>\n');
  process.exit(2);
}
const running = await startStorageServer(loadStorageConfig(configPath), { logger: pino({ level: 'silent' }) });
process.stdout.write(`listening ${running.address}\n`);
