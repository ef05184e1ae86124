import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConveyorError } from '../errors.js';
import type { Logger } from '../logger.js';
import { faultPoint } from '../util/fault-point.js';
import { pidAlive, processStartedAt } from '../util/process-group.js';

// Locks this process holds: an equal pid in a lock file not among them is a previous
// incarnation (a restarted container often gets the same pid).
const held = new Set<string>();

/** The lock file at the top of `workspaces.root`. */
export const ROOT_LOCK_FILE = '.conveyor-host.lock';

interface Holder {
  hostId: string;
  machine: string;
  pid: number;
  startedAt: string;
}

export interface RootLockOptions {
  hostId: string;
  logger: Logger;
  /** How often the holder touches the file (its liveness, for hosts on other machines). */
  refreshMs?: number;
  /** A lock of another machine untouched this long is stale (that host is gone). */
  staleMs?: number;
}

/**
 * One host per `workspaces.root`. Git in the mirrors and worktrees is serialised
 * only inside one process: two hosts on one root (two processes on one machine, or
 * a shared volume) fail each other's fetches and ref updates ("could not lock
 * config file", "cannot lock ref"). Rather than lock every git call across
 * processes, a second host is refused at start with the holder named.
 *
 * The holder is known by its machine and pid (a dead pid on this machine frees the
 * lock at once: a crashed host restarts without help) and, for a holder on another
 * machine, by the file's age: it is touched every `refreshMs` and taken over after
 * `staleMs` untouched.
 */
export class WorkspaceRootLock {
  #timer: NodeJS.Timeout | null = null;
  #released = false;

  private constructor(
    readonly file: string,
    private readonly holder: Holder,
  ) {}

  static acquire(root: string, opts: RootLockOptions): WorkspaceRootLock {
    fs.mkdirSync(root, { recursive: true });
    const file = path.join(root, ROOT_LOCK_FILE);
    const me: Holder = { hostId: opts.hostId, machine: os.hostname(), pid: process.pid, startedAt: new Date().toISOString() };
    const staleMs = opts.staleMs ?? 30_000;
    // Written whole under a name of its own, then linked into place: a link fails
    // if the lock exists, and nobody ever reads a lock half-written.
    const mine = `${file}.${process.pid}.${randomUUID()}`;
    fs.writeFileSync(mine, `${JSON.stringify(me)}\n`, { mode: 0o600 });
    try {
      for (let tries = 0; tries < 3; tries++) {
        try {
          fs.linkSync(mine, file);
          const lock = new WorkspaceRootLock(file, me);
          held.add(file);
          lock.#refresh(opts.refreshMs ?? 5_000);
          return lock;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const judged = readRaw(file);
        if (judged === null) continue; // removed meanwhile: try again
        const other = parseHolder(judged);
        const stale = other === null || isStale(other, file, staleMs);
        if (!stale) {
          throw new ConveyorError(
            'CONVEYOR_WORKSPACE_ROOT_IN_USE',
            `workspaces.root "${root}" is in use by another Conveyor host (host id "${other.hostId}", pid ${other.pid} on ${other.machine}, since ${other.startedAt}). ` +
              'Two hosts must not share one workspaces root: give each its own `workspaces.root` (and data directory). If that host is gone for good, delete ' +
              `"${file}".`,
          );
        }
        faultPoint('workspace.root-lock-takeover');
        opts.logger.warn({ file, holder: other }, 'taking over the workspaces root lock of a host that is gone');
        takeOverStale(file, judged);
      }
    } finally {
      fs.rmSync(mine, { force: true });
    }
    throw new ConveyorError('CONVEYOR_WORKSPACE_ROOT_IN_USE', `could not take the lock "${file}" of workspaces.root "${root}": another host keeps taking it`);
  }

  /** Removes the lock if it is still this host's. Safe to call twice. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer) clearInterval(this.#timer);
    held.delete(this.file);
    const now = readHolder(this.file);
    if (now && now.pid === this.holder.pid && now.machine === this.holder.machine && now.startedAt === this.holder.startedAt) fs.rmSync(this.file, { force: true });
  }

  #refresh(everyMs: number): void {
    this.#timer = setInterval(() => {
      try {
        const t = new Date();
        fs.utimesSync(this.file, t, t);
      } catch {
        // removed by hand: the next start of another host may take the root
      }
    }, everyMs);
    this.#timer.unref();
  }
}

function readRaw(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function parseHolder(raw: string): Holder | null {
  try {
    const h = JSON.parse(raw) as Holder;
    return typeof h.pid === 'number' && typeof h.machine === 'string' ? h : null;
  } catch {
    return null;
  }
}

function readHolder(file: string): Holder | null {
  const raw = readRaw(file);
  return raw === null ? null : parseHolder(raw);
}

/**
 * Removes the stale lock that was judged, and only that one: two hosts starting at
 * once may both judge it stale, and the slower one must not remove the lock the
 * faster one has just taken. The lock is moved aside (atomic); if what was moved is
 * not what was judged, it is put back (a link: never over a lock made meanwhile).
 */
function takeOverStale(file: string, judged: string): void {
  const aside = `${file}.stale.${randomUUID()}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readRaw(aside) !== judged) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // a third host took the root meanwhile: its lock stays
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function isStale(h: Holder, file: string, staleMs: number): boolean {
  if (h.machine === os.hostname()) {
    if (h.pid === process.pid) return !held.has(file);
    if (!pidAlive(h.pid)) return true;
    // A live pid that started after the lock was written is another process that reused it.
    const started = processStartedAt(h.pid);
    return started !== null && started > Date.parse(h.startedAt) + 2_000;
  }
  try {
    return Date.now() - fs.statSync(file).mtimeMs > staleMs;
  } catch {
    return true;
  }
}
