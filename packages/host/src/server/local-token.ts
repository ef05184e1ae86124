import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MIN_TOKEN_LENGTH } from './auth.js';

/** The token file inside the data directory. */
export const TOKEN_FILE = 'token';

const TOKEN_MODE = 0o600;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Reads the token file, tightening its mode to 0600 when someone loosened it (the
 * token guards every mutating route). null when the file does not exist; '' when
 * it exists but is still empty (another start created it and is writing it).
 */
function readTokenFile(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  // POSIX modes mean nothing on Windows; chmod there only toggles read-only.
  if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o777) !== TOKEN_MODE) fs.chmodSync(file, TOKEN_MODE);
  return text.trim();
}

/**
 * The local API token of the embedded default (spec 03): read from
 * `<dataDir>/token`, or created there on first start as 32 random bytes in hex,
 * mode 0600, so `npm start` + `conveyor task create` work with no set-up and no
 * mutating route is ever open. Creation uses `wx` (fails if the file exists), so
 * two hosts starting at once end up with the same token: the loser reads the
 * winner's file.
 */
export function ensureLocalToken(dataDir: string): string {
  const file = path.join(dataDir, TOKEN_FILE);
  let token = readTokenFile(file);
  if (token === null) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const fresh = randomBytes(32).toString('hex');
    try {
      fs.writeFileSync(file, `${fresh}\n`, { flag: 'wx', mode: TOKEN_MODE });
      return fresh;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      token = readTokenFile(file);
    }
  }
  // The winner of a concurrent start may not have written its bytes yet.
  for (let i = 0; i < 50 && !token; i++) {
    sleepSync(20);
    token = readTokenFile(file);
  }
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${file} does not hold a usable token (at least ${MIN_TOKEN_LENGTH} characters): delete it and start again to create a new one, or set host.token`);
  }
  return token;
}
