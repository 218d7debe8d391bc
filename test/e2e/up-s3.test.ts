/**
 * `intergrid up --share-backend s3` as a user runs it: the built CLI starts a
 * one-host Ceph cluster under DIR/ceph (monitor, OSD, radosgw) before the
 * federation, and every storage server of both grids keeps its shares in the
 * one bucket 'intergrid' under `<grid>/<storage-NN>/`. A file put in grid a
 * comes back byte-identical locally and long-distance from grid b; every
 * share byte is an object in RGW (the servers' data dirs hold only their
 * databases); SIGTERM stops every child, the Ceph daemons too; a rerun
 * reuses the cluster and the shares; a rerun with the disk backend, or an
 * unknown backend, is refused in one line.
 *
 * Ceph missing → `up` fails with the line saying how to install it (.ci/run installs it).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { S3Client, ListObjectsV2Command, type _Object } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { runBuiltCli, isAlive, startBuiltUp, stopBuiltUp } from './fixtures/built-cli.js';
import { capStorageIndex, parseCap } from '../../libs/caps/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { planFile } from '../../libs/format/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Federation {
  grids: { name: string; clientConfig: string }[];
  services: { role: string; name: string; address: string; pid: number; dataDir: string; config: string }[];
  s3?: { endpoint: string; region: string; bucket: string; credentialsFile: string };
}

async function listBucket(s3: S3Client, bucket: string): Promise<_Object[]> {
  const out: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    out.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Every regular file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('intergrid up --share-backend s3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-up-s3-'));
  const gridDir = join(dir, 'g');
  const running: ChildProcess[] = [];
  afterAll(async () => {
    for (const p of running) await stopBuiltUp(p);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses an unknown backend in one line before anything starts', async () => {
    const res = await runBuiltCli(['up', '--dir', join(dir, 'bad'), '--share-backend', 'nfs']);
    expect(res.code).not.toBe(0);
    expect(res.stderr.trim()).toBe("intergrid: --share-backend 'nfs' must be one of: disk, s3");
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('keeps every share byte in RGW, serves put/get locally and long-distance, stops every child and restarts on the same cluster', async () => {
    const first = await startBuiltUp(['--dir', gridDir, '--grids', '2', '--servers', '10', '--share-backend', 's3']);
    running.push(first.proc);
    const federation = JSON.parse(readFileSync(first.federationPath, 'utf8')) as Federation;
    const ceph = federation.services.filter((s) => s.role === 'ceph');
    expect(ceph.map((s) => s.name)).toEqual(['ceph/mon.a', 'ceph/osd.0', 'ceph/rgw.a']);
    expect(federation.s3).toMatchObject({ bucket: 'intergrid', credentialsFile: join(gridDir, 'ceph', 's3-credentials.json') });
    const s3Info = federation.s3!;
    expect(s3Info.endpoint).toBe(`http://${ceph[2]!.address}`);
    expect(statSync(s3Info.credentialsFile).mode & 0o777).toBe(0o600);
    for (const s of federation.services) expect(isAlive(s.pid), s.name).toBe(true);

    const storage = federation.services.filter((s) => s.role === 'storage-server');
    expect(storage).toHaveLength(20);
    for (const s of storage) {
      const config = JSON.parse(readFileSync(s.config, 'utf8')) as { shareBackend?: { kind: string; bucket: string; prefix: string; endpoint: string } };
      expect(config.shareBackend, s.name).toMatchObject({ kind: 's3', bucket: 'intergrid', endpoint: s3Info.endpoint, prefix: `${s.name}/` });
    }

    const clientConfig = federation.grids[0]!.clientConfig;
    const encoding = (JSON.parse(readFileSync(clientConfig, 'utf8')) as { encoding: { k: number; n: number; segmentSize: number } }).encoding;
    expect(encoding).toMatchObject({ k: 3, n: 10 });
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const input = join(dir, 'in.bin');
    writeFileSync(input, data);
    const put = await runBuiltCli(['put', input, '--config', clientConfig]);
    expect(put.code, put.stderr).toBe(0);
    const cap = put.stdout.trim();
    expect(cap).toMatch(/^URI:CHK:[a-z2-7]+:[a-z2-7]+:3:10:3145745:101$/);

    const local = join(dir, 'out-local.bin');
    const getLocal = await runBuiltCli(['get', cap, '--config', clientConfig, '-o', local]);
    expect(getLocal.code, getLocal.stderr).toBe(0);
    expect(sha(readFileSync(local))).toBe(sha(data));
    const remote = join(dir, 'out-remote.bin');
    const getRemote = await runBuiltCli(['get', cap, '--config', federation.grids[1]!.clientConfig, '-o', remote]);
    expect(getRemote.code, getRemote.stderr).toBe(0);
    expect(sha(readFileSync(remote))).toBe(sha(data));

    // No share on any server's disk: only its database (and the empty upload spool).
    for (const s of storage) {
      expect(existsSync(join(s.dataDir, 'shares')), s.name).toBe(false);
      for (const f of filesUnder(s.dataDir)) expect(basename(f), `${s.name}: ${f}`).toMatch(/^storage\.sqlite(-wal|-shm|-journal)?$/);
    }

    // The bucket holds exactly the 10 shares, each under a grid-a server's prefix, of the planned size.
    const creds = JSON.parse(readFileSync(s3Info.credentialsFile, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const s3 = new S3Client({ endpoint: s3Info.endpoint, region: s3Info.region, forcePathStyle: true, credentials: creds });
    try {
      const objects = await listBucket(s3, s3Info.bucket);
      const si = toHex(capStorageIndex(parseCap(cap)));
      const prefixes = new Set(storage.filter((s) => s.name.startsWith('a/')).map((s) => `${s.name}/`));
      const shares = objects.map((o) => {
        const m = /^(a\/storage-\d\d\/)shares\/([0-9a-f]{2})\/([0-9a-f]{32})\/(\d+)$/.exec(o.Key ?? '');
        expect(m, o.Key).not.toBeNull();
        expect(prefixes.has(m![1]!), o.Key).toBe(true);
        expect(m![3]).toBe(si);
        expect(m![2]).toBe(si.slice(0, 2));
        return Number(m![4]);
      });
      expect(shares.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const shareSize = planFile(data.length, encoding).shareSize;
      for (const o of objects) expect(o.Size, o.Key).toBe(shareSize);
      expect(objects.reduce((n, o) => n + (o.Size ?? 0), 0)).toBe(10 * shareSize);
    } finally {
      s3.destroy();
    }

    // SIGTERM stops every child, the Ceph daemons included.
    expect(await stopBuiltUp(first.proc)).toBe(0);
    for (const s of federation.services) expect(isAlive(s.pid), s.name).toBe(false);

    // The disk backend on this dir would not see the shares: refused in one line, nothing started.
    const disk = await runBuiltCli(['up', '--dir', gridDir, '--share-backend', 'disk']);
    expect(disk.code).not.toBe(0);
    expect(disk.stderr.trim().split('\n')).toHaveLength(1);
    expect(disk.stderr).toContain('created with --share-backend s3');

    // Same dir again with s3: the same cluster (endpoint, credentials) and the shares it holds.
    const second = await startBuiltUp(['--dir', gridDir, '--grids', '2', '--servers', '10', '--share-backend', 's3']);
    running.push(second.proc);
    try {
      const again = JSON.parse(readFileSync(second.federationPath, 'utf8')) as Federation;
      expect(again.s3).toEqual(federation.s3);
      const out = join(dir, 'out-again.bin');
      const get = await runBuiltCli(['get', cap, '--config', again.grids[1]!.clientConfig, '-o', out]);
      expect(get.code, get.stderr).toBe(0);
      expect(sha(readFileSync(out))).toBe(sha(data));
      expect(await stopBuiltUp(second.proc)).toBe(0);
      for (const s of again.services) expect(isAlive(s.pid), s.name).toBe(false);
    } finally {
      await stopBuiltUp(second.proc);
    }
  }, 360_000);
});
