/**
 * Share files on local disk (docs/storage.md "Disk layout"):
 *
 *   <dataDir>/incoming/<si>/<shnum>.<random>   being written, never served
 *   <dataDir>/shares/<si[0:2]>/<si>/<shnum>    complete, fsynced, renamed into place
 *
 * `si` is the storage index in lowercase hex (32 digits). A file only moves
 * from incoming/ to shares/ after all its bytes were written and fsynced;
 * the rename is then made durable by fsyncing the directory. The database
 * row recorded after that is what makes the share visible.
 */
import { mkdir, open, rename, rm, readdir, stat, statfs, unlink, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, toHex } from '../../libs/crypto/index.js';
import { MAX_SHARE_NUMBER } from './request-checks.js';

const SI_HEX = /^[0-9a-f]{32}$/;
const SHNUM = /^(0|[1-9][0-9]{0,2})$/;

/** A share file found on disk. */
export interface ShareFile {
  storageIndex: string;
  shareNumber: number;
  size: number;
  path: string;
}

/** A share being written into incoming/. */
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

  /** Closes (if needed) and deletes the temp file; never throws. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}

export class ShareStore {
  readonly sharesDir: string;
  readonly incomingDir: string;

  constructor(readonly dataDir: string) {
    this.sharesDir = join(dataDir, 'shares');
    this.incomingDir = join(dataDir, 'incoming');
  }

  /** Creates the directory layout (and makes the new directories durable). */
  async init(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    for (const d of [this.sharesDir, this.incomingDir]) await mkdir(d, { recursive: true });
    await fsyncDir(this.dataDir);
  }

  /** Directory of a storage index's complete shares. */
  bucketDir(storageIndex: string): string {
    return join(this.sharesDir, storageIndex.slice(0, 2), storageIndex);
  }

  sharePath(storageIndex: string, shareNumber: number): string {
    return join(this.bucketDir(storageIndex), String(shareNumber));
  }

  /** Opens a fresh temp file for one upload (a random suffix: concurrent uploads never share a file). */
  async createIncoming(storageIndex: string, shareNumber: number): Promise<IncomingShare> {
    const dir = join(this.incomingDir, storageIndex);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${shareNumber}.${toHex(randomBytes(8))}`);
    const handle = await open(path, 'wx', 0o600);
    return new IncomingShare(path, handle);
  }

  /** Removes incoming/<si>/ when empty (best effort: another upload may be using it). */
  async tidyIncoming(storageIndex: string): Promise<void> {
    await rmdir(join(this.incomingDir, storageIndex)).catch(() => undefined);
  }

  /**
   * Moves a finished (fsynced, closed) temp file into place and fsyncs the
   * directories whose entries changed, so the rename survives a crash.
   */
  async install(incoming: IncomingShare, storageIndex: string, shareNumber: number): Promise<void> {
    const bucket = this.bucketDir(storageIndex);
    const prefix = join(this.sharesDir, storageIndex.slice(0, 2));
    const created = await mkdirTracked(prefix).then(async (a) => (await mkdirTracked(bucket)) || a);
    await rename(incoming.path, this.sharePath(storageIndex, shareNumber));
    await fsyncDir(bucket);
    if (created) {
      await fsyncDir(prefix);
      await fsyncDir(this.sharesDir);
    }
  }

  /** Opens a complete share for reading. */
  async openShare(storageIndex: string, shareNumber: number): Promise<FileHandle> {
    return open(this.sharePath(storageIndex, shareNumber), 'r');
  }

  /** Deletes a share file and its now-empty directories; a missing file is not an error. */
  async remove(storageIndex: string, shareNumber: number): Promise<void> {
    await unlink(this.sharePath(storageIndex, shareNumber)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    const bucket = this.bucketDir(storageIndex);
    await rmdir(bucket).catch(() => undefined);
    await rmdir(join(this.sharesDir, storageIndex.slice(0, 2))).catch(() => undefined);
  }

  /** Deletes everything under incoming/ (startup: no upload survives a restart). Returns the paths removed. */
  async clearIncoming(): Promise<string[]> {
    const removed: string[] = [];
    for (const si of await readdir(this.incomingDir).catch(() => [] as string[])) {
      const dir = join(this.incomingDir, si);
      for (const f of await readdir(dir).catch(() => [] as string[])) removed.push(join(dir, f));
      await rm(dir, { recursive: true, force: true });
    }
    if (removed.length > 0) await fsyncDir(this.incomingDir);
    return removed;
  }

  /**
   * Every file under shares/. Entries that do not follow the layout are
   * returned with shareNumber -1 so reconciliation can remove them.
   */
  async listShareFiles(): Promise<ShareFile[]> {
    const out: ShareFile[] = [];
    for (const prefix of await readdir(this.sharesDir).catch(() => [] as string[])) {
      const prefixDir = join(this.sharesDir, prefix);
      for (const si of await readdir(prefixDir).catch(() => [] as string[])) {
        const bucket = join(prefixDir, si);
        const names = await readdir(bucket).catch(() => [] as string[]);
        for (const name of names) {
          const path = join(bucket, name);
          const st = await stat(path);
          const valid = SI_HEX.test(si) && si.startsWith(prefix) && SHNUM.test(name) && Number(name) <= MAX_SHARE_NUMBER && st.isFile();
          out.push({ storageIndex: si, shareNumber: valid ? Number(name) : -1, size: st.size, path });
        }
      }
    }
    return out;
  }

  /** Bytes available to this process on the data dir's file system. */
  async availableBytes(): Promise<number> {
    const s = await statfs(this.dataDir);
    return s.bavail * s.bsize;
  }
}

/** mkdir that reports whether it created the directory. */
async function mkdirTracked(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
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
