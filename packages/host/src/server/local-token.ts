import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tightenPrivateFile, warnModeChanges, type Logger, type ModeChange } from '@conveyor/core';
import { MIN_TOKEN_LENGTH } from './auth.js';

/** The token file inside the data directory. */
export const TOKEN_FILE = 'token';

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Reads the token file, narrowing its mode to the owner when someone loosened it
 * (the token guards every mutating route) and recording that in `changes`. null
 * when the file does not exist; '' when it exists but is still empty (another start
 * created it and is writing it).
 */
function readTokenFile(file: string, changes: ModeChange[]): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  const change = tightenPrivateFile(file);
  if (change) changes.push(change);
  return text.trim();
}

/**
 * The local API token of the embedded default: read from `<dataDir>/token`, or
 * created there on first start as 32 random bytes in hex, mode 0600, in a data
 * directory created 0700, so `npm start` + `conveyor task create` work with no
 * set-up and no mutating route is ever open. Creation uses `wx` (fails if the file
 * exists), so two hosts starting at once end up with the same token: the loser
 * reads the winner's file. A token file or data directory other users could read
 * is narrowed to its owner, with one warning on `options.logger`.
 */
export function ensureLocalToken(dataDir: string, options: { logger?: Pick<Logger, 'warn'> } = {}): string {
  const file = path.join(dataDir, TOKEN_FILE);
  const changes: ModeChange[] = [];
  try {
    return readOrCreate(dataDir, file, changes);
  } finally {
    if (options.logger) warnModeChanges(options.logger, changes, 'the API token');
  }
}

function readOrCreate(dataDir: string, file: string, changes: ModeChange[]): string {
  const dirChange = ensurePrivateDir(dataDir);
  if (dirChange) changes.push(dirChange);
  let token = readTokenFile(file, changes);
  if (token === null) {
    const fresh = randomBytes(32).toString('hex');
    try {
      fs.writeFileSync(file, `${fresh}\n`, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      return fresh;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      token = readTokenFile(file, changes);
    }
  }
  // The winner of a concurrent start may not have written its bytes yet.
  for (let i = 0; i < 50 && !token; i++) {
    sleepSync(20);
    token = readTokenFile(file, changes);
  }
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${file} does not hold a usable token (at least ${MIN_TOKEN_LENGTH} characters): delete it and start again to create a new one, or set host.token`);
  }
  return token;
}
