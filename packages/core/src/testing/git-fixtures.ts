import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git } from '../workspace/git.js';

const AUTHOR = { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@localhost', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@localhost' };

export interface BareRepo {
  /** Path of the bare repository (use it as `repos.<name>.url`). */
  origin: string;
  /** Parent temp directory; `dispose()` removes it. */
  dir: string;
  /** Reads a file of a branch on the origin, or null. */
  show(ref: string, file: string): Promise<string | null>;
  /** The commit a branch points at on the origin, or null. */
  head(branch: string): Promise<string | null>;
  /** Commit subjects of a branch, newest first. */
  log(branch: string): Promise<string[]>;
  dispose(): void;
}

/** A bare origin repository with one commit on `main` holding `files`. */
export async function createBareRepo(files: Record<string, string> = { 'README.md': '# demo\n' }, mainBranch = 'main'): Promise<BareRepo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-git-'));
  const origin = path.join(dir, 'origin.git');
  const seed = path.join(dir, 'seed');
  await git(['init', '--quiet', '--bare', `--initial-branch=${mainBranch}`, origin], { cwd: dir });
  await git(['init', '--quiet', `--initial-branch=${mainBranch}`, seed], { cwd: dir });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(seed, name)), { recursive: true });
    fs.writeFileSync(path.join(seed, name), content);
  }
  await git(['add', '-A'], { cwd: seed });
  await git(['commit', '--quiet', '-m', 'initial commit'], { cwd: seed, env: AUTHOR });
  await git(['push', '--quiet', origin, `${mainBranch}:${mainBranch}`], { cwd: seed });
  fs.rmSync(seed, { recursive: true, force: true });
  return {
    origin,
    dir,
    async show(ref, file) {
      const res = await git(['show', `${ref}:${file}`], { cwd: origin, allowFailure: true });
      return res.exitCode === 0 ? res.stdout : null;
    },
    async head(branch) {
      const res = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: origin, allowFailure: true });
      return res.exitCode === 0 ? res.stdout : null;
    },
    async log(branch) {
      const res = await git(['log', '--format=%s', `refs/heads/${branch}`], { cwd: origin, allowFailure: true });
      return res.exitCode === 0 ? res.stdout.split('\n').filter(Boolean) : [];
    },
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Commits all changes in a working directory as the test author. */
export async function commitAll(cwd: string, message: string): Promise<void> {
  await git(['add', '-A'], { cwd });
  await git(['commit', '--quiet', '-m', message], { cwd, env: AUTHOR });
}
