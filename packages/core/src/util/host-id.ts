import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The file in the data directory that keeps the host id between starts. */
export const HOST_ID_FILE = 'host-id';

/**
 * This host's id when `instance.hostId` is not set: made once (`<hostname>-<random>`)
 * and kept in the data directory. A restarted container gets a new hostname but
 * keeps its volume, so it still recognises the jobs it left running; two hosts with
 * their own data directories never share an id, even on one machine.
 */
export function stableHostId(dataDir: string): string {
  const file = path.join(dataDir, HOST_ID_FILE);
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60) || 'host'}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(file, `${id}\n`, { flag: 'wx', mode: 0o600 });
    return id;
  } catch (err) {
    // Another process of this data directory wrote it first: use its id.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim() || id;
    throw err;
  }
}
