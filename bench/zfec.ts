/**
 * Tahoe's own codec as the yardstick: zfec (Debian python3-zfec) encoding
 * and decoding the same 3-of-10 code on 1 MiB segments, in the same run on
 * the same machine, one core (CPU time of the Python process). Decoding uses
 * one data share and two parity shares (two data blocks missing), like the
 * "rs decode" primitive. When no Python with zfec is found, says so.
 */
import { execFileSync } from 'node:child_process';

export interface ZfecFigure {
  python: string;
  encodeMBps: number;
  decodeMBps: number;
}

const SCRIPT = `
import os, time, zfec
k, m, seg, total = 3, 10, 1 << 20, 64 << 20
data = os.urandom(seg)
blk = seg // k
blocks = [data[i * blk:(i + 1) * blk] for i in range(k)]
enc, dec = zfec.Encoder(k, m), zfec.Decoder(k, m)
shares = enc.encode(blocks)
t = time.process_time()
for _ in range(total // seg): shares = enc.encode(blocks)
te = time.process_time() - t
nums = [0, 5, 9]
use = [shares[i] for i in nums]
t = time.process_time()
for _ in range(total // seg): out = dec.decode(use, nums)
td = time.process_time() - t
assert b''.join(out) == data[:blk * k]
print(total / te / 1e6, total / td / 1e6)
`;

/** The first of these Pythons that imports zfec is used (a pyenv python3 on PATH may lack Debian's packages). */
const PYTHONS = ['python3', '/usr/bin/python3'];

/** zfec's encode and decode MB/s, or a reason it could not run. */
export function benchZfec(): ZfecFigure | { missing: string } {
  for (const python of PYTHONS) {
    try {
      const out = execFileSync(python, ['-c', SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      const [encodeMBps, decodeMBps] = out.trim().split(/\s+/).map(Number);
      if (Number.isFinite(encodeMBps) && Number.isFinite(decodeMBps)) return { python, encodeMBps: encodeMBps!, decodeMBps: decodeMBps! };
    } catch {
      // not installed, or this Python lacks zfec: try the next
    }
  }
  return { missing: `no ${PYTHONS.join(' or ')} with zfec (apt-get install python3-zfec): put/get are not compared with Tahoe's codec` };
}
