/**
 * `intergrid get CAP --config C [-o OUT] [--range START-END]`: downloads a
 * file. With -o the bytes go to a temp file next to OUT that is fsynced and
 * renamed into place only after the whole download verified, so OUT is
 * never partial. Without -o they go to stdout, one verified segment at a time.
 *
 * --range is inclusive like HTTP: `0-99` is the first 100 bytes, `100-` is
 * everything from byte 100.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes, toHex } from '../../../libs/crypto/index.js';
import { parseReadCap } from '../../../libs/caps/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';
import { downloadFile, type DownloadResult } from '../../../libs/client/index.js';
import type { ByteRange } from '../../../libs/format/index.js';
import { openClient } from '../client-session.js';

export interface GetOptions {
  config: string;
  output?: string;
  range?: string;
}

/** Parses `START-END` (inclusive) or `START-` into {offset, length}. */
export function parseRange(text: string): ByteRange {
  const m = /^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`bad --range '${text}': expected START-END or START- (decimal, inclusive)`);
  const start = Number(m[1]);
  if (m[2] === undefined) return { offset: start, length: Number.MAX_SAFE_INTEGER - start };
  const end = Number(m[2]);
  if (end < start) throw new InvalidArgumentError(`bad --range '${text}': END ${end} is before START ${start}`);
  if (!Number.isSafeInteger(end)) throw new InvalidArgumentError(`bad --range '${text}': too large`);
  return { offset: start, length: end - start + 1 };
}

function reportCorruption(result: DownloadResult): void {
  for (const c of result.report.corrupt) {
    process.stderr.write(`intergrid: warning: share ${c.shnum} on ${c.server} is corrupt (${c.reason}); used another copy\n`);
  }
}

export async function getCommand(capText: string, opts: GetOptions): Promise<void> {
  const cap = parseReadCap(capText.trim());
  const range = opts.range ? parseRange(opts.range) : undefined;
  const conn = await openClient(opts.config);
  try {
    if (!opts.output) {
      try {
        reportCorruption(await downloadFile(conn, cap, process.stdout, range ? { range } : {}));
      } catch (err) {
        // The reader went away (`intergrid get … | head`): not an error of ours.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      }
      return;
    }
    const out = opts.output;
    const tmp = join(dirname(out), `.${basename(out)}.tmp-${toHex(randomBytes(6))}`);
    let fh;
    try {
      fh = await open(tmp, 'wx', 0o644);
    } catch (err) {
      throw new InvalidArgumentError(`cannot write '${out}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    let renamed = false;
    try {
      let position = 0;
      const result = await downloadFile(
        conn,
        cap,
        async (chunk) => {
          let off = 0;
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, position + off);
            off += bytesWritten;
          }
          position += chunk.length;
        },
        range ? { range } : {},
      );
      await fh.sync();
      await fh.close();
      await rename(tmp, out);
      renamed = true;
      await fsyncDir(dirname(out));
      reportCorruption(result);
    } finally {
      if (!renamed) {
        await fh.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
      }
    }
  } finally {
    conn.close();
  }
}

/** Makes the rename durable (best effort: some platforms cannot fsync a directory). */
async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* not supported here */
  }
}
