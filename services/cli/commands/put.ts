/**
 * `intergrid put FILE --config CLIENT.json`: uploads FILE to the home grid
 * and prints its read-cap, alone, on stdout (so `cap=$(intergrid put f)`
 * works). A progress bar goes to stderr, and only when stderr is a terminal.
 */
import { SingleBar, Presets } from 'cli-progress';
import { uploadFile } from '../../../libs/client/index.js';
import { openClient } from '../client-session.js';

export interface PutOptions {
  config: string;
}

export async function putCommand(file: string, opts: PutOptions): Promise<void> {
  const conn = await openClient(opts.config);
  const bar = process.stderr.isTTY
    ? new SingleBar({ stream: process.stderr, format: 'uploading [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true }, Presets.shades_classic)
    : undefined;
  let started = false;
  try {
    const result = await uploadFile(conn, file, {
      onProgress: (p) => {
        if (!bar) return;
        if (!started) {
          bar.start(p.size, 0);
          started = true;
        }
        bar.update(p.bytesDone);
      },
    });
    bar?.stop();
    process.stdout.write(result.capText + '\n');
  } finally {
    if (started) bar?.stop();
    conn.close();
  }
}
