import fs from 'node:fs';
import path from 'node:path';

/** The running host's address, kept in the data directory while it runs. */
export const HOST_FILE = 'host.json';

/** What `conveyor start` records so the CLI finds it (`start -p 3721` then `task list`). */
export interface HostRecord {
  /** Base URL a local client reaches the API at. */
  url: string;
  /** The host's process id: a record whose process is gone is stale. */
  pid: number;
}

/** The URL a local client uses for a listening address: a wildcard address means this machine. */
export function clientUrl(address: string, port: number): string {
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Records the running host in `<dataDir>/host.json` (mode 0600, written to a temp
 * file then renamed, so a reader never sees half a record).
 */
export function writeHostFile(dataDir: string, record: HostRecord): string {
  const file = path.join(dataDir, HOST_FILE);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

/** The record of a host that is still running, or null (missing, unreadable, or its process is gone). */
export function readHostFile(dataDir: string): HostRecord | null {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dataDir, HOST_FILE), 'utf8')) as Partial<HostRecord>;
    if (typeof record.url !== 'string' || typeof record.pid !== 'number') return null;
    return alive(record.pid) ? { url: record.url, pid: record.pid } : null;
  } catch {
    return null;
  }
}

/** Removes the record if it is still this process's (a second host on the same data dir may have replaced it). */
export function removeHostFile(dataDir: string, pid = process.pid): void {
  const file = path.join(dataDir, HOST_FILE);
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<HostRecord>;
    if (record.pid === pid) fs.rmSync(file, { force: true });
  } catch {
    // Gone or unreadable: nothing of ours to remove.
  }
}
