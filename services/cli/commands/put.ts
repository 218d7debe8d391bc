/**
 * `intergrid put FILE --config CLIENT.json`: uploads FILE to the home grid
 * and prints its read-cap, alone, on stdout (so `cap=$(intergrid put f)`
 * works). A progress bar goes to stderr, and only when stderr is a terminal.
 *
 * FILE `-` reads stdin: the layout needs the size before the first share
 * byte, so stdin is first spooled to a private temp file (mode 0600, removed
 * afterwards) — memory stays bounded, disk holds one copy while uploading.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SingleBar, Presets } from 'cli-progress';
import { uploadFile } from '../../../libs/client/index.js';
import { openClient } from '../client-session.js';

export interface PutOptions {
  config: string;
}

export async function putCommand(file: string, opts: PutOptions): Promise<void> {
  if (file !== '-') return putPath(file, opts);
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-put-'));
  try {
    const spool = join(dir, 'stdin');
    await pipeline(process.stdin, createWriteStream(spool, { mode: 0o600 }));
    await putPath(spool, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function putPath(file: string, opts: PutOptions): Promise<void> {
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
    if (started) bar?.stop();
    started = false;
    process.stdout.write(result.capText + '\n');
  } finally {
    if (started) bar?.stop();
    conn.close();
  }
}
