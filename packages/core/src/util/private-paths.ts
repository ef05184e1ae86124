import fs from 'node:fs';
import type { Logger } from '../logger.js';

/** Mode of the data directory (and any directory Conveyor creates for its private files). */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of the database and token files. */
export const PRIVATE_FILE_MODE = 0o600;

/** A mode Conveyor narrowed, for the one log line that says so. */
export interface ModeChange {
  path: string;
  /** Octal, e.g. `0755`. */
  from: string;
  to: string;
}

// POSIX modes mean nothing on Windows: chmod there only toggles read-only.
const POSIX = process.platform !== 'win32';
const GROUP_AND_OTHER = 0o077;
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Takes the group and other bits off `p` when it has any; null when it had none or does not exist. */
function narrow(p: string): ModeChange | null {
  if (!POSIX) return null;
  let mode: number;
  try {
    mode = fs.statSync(p).mode;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  if ((mode & GROUP_AND_OTHER) === 0) return null;
  const to = mode & 0o777 & ~GROUP_AND_OTHER;
  try {
    fs.chmodSync(p, to);
  } catch (err) {
    // Starting anyway would leave the token or the database readable by others: fail closed, saying how to fix it.
    throw new Error(`cannot narrow ${p} from ${octal(mode)} to ${octal(to)} (${(err as Error).message}): make it owned by the user Conveyor runs as, or set its mode yourself`, { cause: err });
  }
  return { path: p, from: octal(mode), to: octal(to) };
}

/**
 * Creates `dir` (and any missing parent) with mode 0700, or narrows an existing one
 * to its owner: it holds the database, the API token and every agent's log, and a
 * directory created under the usual umask (0755) lets every local user read them.
 * Returns what it narrowed, or null.
 */
export function ensurePrivateDir(dir: string): ModeChange | null {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return narrow(dir);
}

/** Narrows an existing private file to its owner (0600 from 0644); null when it was private or is absent. */
export function tightenPrivateFile(file: string): ModeChange | null {
  return narrow(file);
}

/**
 * One warning listing every mode narrowed (none when nothing was): an operator
 * who loosened a mode on purpose learns it was undone, once, not on every request.
 */
export function warnModeChanges(logger: Pick<Logger, 'warn'>, changes: readonly ModeChange[], what: string): void {
  if (changes.length === 0) return;
  logger.warn({ tightened: changes }, `narrowed ${changes.map((c) => `${c.path} (${c.from} → ${c.to})`).join(', ')}: other local users could read ${what}`);
}

/**
 * Creates `file` empty with mode 0600 if it does not exist (an existing one is left
 * as it is). SQLite then creates its `-wal` and `-shm` files with the database
 * file's mode, so they are private too.
 */
export function createPrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
}
