import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { git } from './git.js';
import { pidAlive } from '../util/process-group.js';

const TMP_MARK = '.tmp-';

/** The files every repository has (a quick check, no git process). */
export function hasRepositoryFiles(dir: string): boolean {
  return ['HEAD', 'objects', 'refs', 'config'].every((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * True when `dir` is a bare repository git can use: `HEAD` alone (what a kill
 * during `git init` leaves) is not enough, the object store and refs must be there
 * and git must agree.
 */
export async function isBareRepository(dir: string): Promise<boolean> {
  if (!hasRepositoryFiles(dir)) return false;
  const out = await git(['rev-parse', '--is-bare-repository'], { cwd: dir, allowFailure: true }).catch(() => null);
  return out?.exitCode === 0 && out.stdout.trim() === 'true';
}

/**
 * Makes a directory crash-safely: `build` fills `<dir>.tmp-<pid>-<random>`, which is
 * then renamed to `dir` in one step, so `dir` either does not exist or is complete.
 * Leftovers of a build whose process died are removed first.
 */
export async function createAtomically(dir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  removeDeadLeftovers(dir);
  const tmp = `${dir}${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    await build(tmp);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function removeDeadLeftovers(dir: string): void {
  const base = `${path.basename(dir)}${TMP_MARK}`;
  for (const name of fs.readdirSync(path.dirname(dir))) {
    if (!name.startsWith(base)) continue;
    const pid = Number(name.slice(base.length).split('-')[0]);
    // A build under way in this process or another live one is not a leftover.
    if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && pidAlive(pid))) continue;
    fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}
