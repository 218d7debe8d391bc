/**
 * Share files on local disk, the default share backend (docs/storage.md "Disk layout"):
 *
 *   <dataDir>/incoming/<si>/<shnum>.<random>   being written, never served
 *   <dataDir>/shares/<si[0:2]>/<si>/<shnum>    complete, fsynced, renamed into place
 *
 * `si` is the storage index in lowercase hex (32 digits). A file only moves
 * from incoming/ to shares/ after all its bytes were written and fsynced;
 * the rename is then made durable by fsyncing the directory. The database
 * row recorded after that is what makes the share visible.
 */
import { mkdir, rename, rm, readdir, stat, statfs, unlink, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_SHARE_NUMBER } from './request-checks.js';
import { IncomingDir, fsyncDir, openFileReader, type IncomingShare } from './incoming-share.js';
import { ShareMissingError, type ShareBackend, type ShareReader, type StoredShare } from './share-backend.js';

const SI_HEX = /^[0-9a-f]{32}$/;
const SHNUM = /^(0|[1-9][0-9]{0,2})$/;

export class DiskShareStore implements ShareBackend {
  readonly sharesDir: string;
  readonly description: string;
  readonly incomingDir: string;
  private readonly incoming: IncomingDir;

  constructor(readonly dataDir: string) {
    this.sharesDir = join(dataDir, 'shares');
    this.incomingDir = join(dataDir, 'incoming');
    this.description = `disk ${this.sharesDir}`;
    this.incoming = new IncomingDir(this.incomingDir);
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

  createIncoming(storageIndex: string, shareNumber: number): Promise<IncomingShare> {
    return this.incoming.create(storageIndex, shareNumber);
  }

  tidyIncoming(storageIndex: string): Promise<void> {
    return this.incoming.tidy(storageIndex);
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

  async openShare(storageIndex: string, shareNumber: number): Promise<ShareReader> {
    try {
      return await openFileReader(this.sharePath(storageIndex, shareNumber));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ShareMissingError(`share ${shareNumber} of ${storageIndex} is not on disk`, { cause: err });
      throw err;
    }
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

  clearIncoming(): Promise<string[]> {
    return this.incoming.clear();
  }

  /**
   * Every file under shares/. Entries that do not follow the layout are
   * returned with shareNumber -1 so reconciliation can remove them.
   */
  async listShares(): Promise<StoredShare[]> {
    const out: StoredShare[] = [];
    for (const prefix of await readdir(this.sharesDir).catch(() => [] as string[])) {
      const prefixDir = join(this.sharesDir, prefix);
      for (const si of await readdir(prefixDir).catch(() => [] as string[])) {
        const bucket = join(prefixDir, si);
        const names = await readdir(bucket).catch(() => [] as string[]);
        for (const name of names) {
          const path = join(bucket, name);
          const st = await stat(path);
          const valid = SI_HEX.test(si) && si.startsWith(prefix) && SHNUM.test(name) && Number(name) <= MAX_SHARE_NUMBER && st.isFile();
          out.push({ storageIndex: si, shareNumber: valid ? Number(name) : -1, size: st.size, location: path });
        }
      }
    }
    return out;
  }

  /** Deletes a junk entry under shares/ (a file or directory that is not a share). */
  async removeJunk(location: string): Promise<void> {
    if (!location.startsWith(this.sharesDir + '/')) throw new Error(`${location} is not under ${this.sharesDir}`);
    await rm(location, { recursive: true, force: true });
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
