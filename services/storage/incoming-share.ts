/**
 * An upload being written: a temp file under the data dir's incoming/
 * (both share backends spool there first), never served. `finish` fsyncs
 * it; the backend's `install` then makes it the share.
 */
import { mkdir, open, readdir, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import type { ShareReader } from './share-backend.js';

export class IncomingShare {
  private written = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  /** Appends `data` (waits for the write: the caller reads the next chunk only after this one is on its way to disk). */
  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.handle.write(data, off, data.length - off, this.written + off);
      off += bytesWritten;
    }
    this.written += data.length;
  }

  /** fsyncs and closes the file: after this its bytes survive a crash. */
  async finish(): Promise<void> {
    await this.handle.sync();
    this.closed = true;
    await this.handle.close();
  }

  /** Opens the finished file for reading (conflict checks, uploads to an object store). */
  reader(): Promise<ShareReader> {
    return openFileReader(this.path);
  }

  /** Closes (if needed) and deletes the temp file; never throws. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}

/** A ShareReader on a local file (its size taken at open). */
export async function openFileReader(path: string): Promise<ShareReader> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return {
      size,
      read: async (into, offset, length, position) => (await fh.read(into, offset, length, position)).bytesRead,
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** <dataDir>/incoming/<si>/<shnum>.<random>: the temp files of uploads in progress. */
export class IncomingDir {
  constructor(readonly dir: string) {}

  /** Opens a fresh temp file for one upload (a random suffix: concurrent uploads never share a file). */
  async create(storageIndex: string, shareNumber: number): Promise<IncomingShare> {
    const dir = join(this.dir, storageIndex);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${shareNumber}.${toHex(randomBytes(8))}`);
    const handle = await open(path, 'wx', 0o600);
    return new IncomingShare(path, handle);
  }

  /** Removes incoming/<si>/ when empty (best effort: another upload may be using it). */
  async tidy(storageIndex: string): Promise<void> {
    await rmdir(join(this.dir, storageIndex)).catch(() => undefined);
  }

  /** Deletes everything (startup: no upload survives a restart). Returns the paths removed. */
  async clear(): Promise<string[]> {
    const removed: string[] = [];
    for (const si of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = join(this.dir, si);
      for (const f of await readdir(dir).catch(() => [] as string[])) removed.push(join(dir, f));
      await rm(dir, { recursive: true, force: true });
    }
    if (removed.length > 0) await fsyncDir(this.dir);
    return removed;
  }
}

/** fsync a directory so entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
