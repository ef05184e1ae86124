import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAMES, DEFAULT_DATA_DIR, git } from '@conveyor/core';
import { initConfigText, type InitAnswers } from './init-template.js';
import type { Output } from './output.js';

export interface InitOptions {
  agent?: string;
  /** Use the repository's `origin` remote instead of a bare copy. */
  useOrigin?: boolean;
  force?: boolean;
  cwd?: string;
}

/** A failure `init` explains in one line; exit code 2 (nothing was written). */
class InitError extends Error {}

async function gitOut(args: string[], cwd: string): Promise<string | null> {
  const r = await git(args, { cwd, allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** `my repo.git` → `my-repo`: the repo name as a config key and in branch names. */
function repoName(top: string): string {
  return path.basename(top).replace(/\.git$/, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'repo';
}

function testCommandOf(top: string): string | null {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(top, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    // npm's placeholder test script fails on purpose: not a test command.
    return pkg.scripts?.test && !pkg.scripts.test.includes('no test specified') ? 'npm test' : null;
  } catch {
    return null;
  }
}

async function answers(top: string, opts: InitOptions): Promise<InitAnswers> {
  const agent = opts.agent ?? 'demo';
  if (agent !== 'demo' && agent !== 'claude') throw new InitError(`--agent must be "demo" or "claude", found "${agent}"`);
  if ((await gitOut(['rev-parse', '--verify', '--quiet', 'HEAD'], top)) === null) throw new InitError(`${top} has no commit yet: Conveyor branches from one, so commit something first`);
  const repo = repoName(top);
  const mainBranch = (await gitOut(['symbolic-ref', '--short', '--quiet', 'HEAD'], top)) ?? 'main';
  let origin = path.posix.join(DEFAULT_DATA_DIR, 'origin', `${repo}.git`);
  if (opts.useOrigin) {
    const remote = await gitOut(['remote', 'get-url', 'origin'], top);
    if (!remote) throw new InitError(`${top} has no remote named origin (\`git remote get-url origin\` failed); leave out --use-origin to work on a bare copy`);
    origin = remote;
  }
  return { repo, origin, bareCopy: !opts.useOrigin, mainBranch, testCommand: testCommandOf(top), agent };
}

/**
 * `conveyor init`: in any git repository, writes a commented `conveyor.config.yaml`
 * at its top level (local tracker, local git forge on a bare copy of the repository
 * or on its origin, the demo agents or Claude Code), makes the data directory with a
 * `.gitignore` of its own, and says what to run next. Refuses to overwrite a config
 * without `--force`.
 */
export async function runInit(opts: InitOptions, io: Output): Promise<number> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  try {
    const top = await gitOut(['rev-parse', '--show-toplevel'], cwd);
    if (!top) throw new InitError(`${cwd} is not inside a git working tree (\`git rev-parse --show-toplevel\` found none); run \`git init\` and commit, or run init inside your repository`);
    const existing = CONFIG_FILE_NAMES.map((n) => path.join(top, n)).find((f) => fs.existsSync(f));
    if (existing && !opts.force) throw new InitError(`${existing} already exists; edit it, or pass --force to replace it`);
    const a = await answers(top, opts);
    const dataDir = path.join(top, DEFAULT_DATA_DIR);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // The data dir ignores itself, so the user's `git status` and .gitignore stay untouched.
    fs.writeFileSync(path.join(dataDir, '.gitignore'), '*\n');
    if (a.bareCopy) {
      const bare = path.join(top, a.origin);
      if (!fs.existsSync(bare)) await git(['clone', '--bare', '--quiet', top, bare], { cwd: top });
      io.out(`made a bare copy of ${top} at ${bare}: Conveyor merges there, never into your remote`);
    }
    const file = existing ?? path.join(top, CONFIG_FILE_NAMES[0]!);
    fs.writeFileSync(file, initConfigText(a));
    io.out(`wrote ${file} (repo "${a.repo}", main branch ${a.mainBranch}, ${a.agent === 'claude' ? 'Claude Code' : 'the demo agents'})`);
    io.out(['next:', '  conveyor doctor                 # checks git, the agents and the repository', '  conveyor start                  # runs the host; leave it running', '  conveyor task create -t "…"     # in another terminal, anywhere in this repository'].join('\n'));
    return 0;
  } catch (err) {
    if (!(err instanceof InitError)) throw err;
    io.err(`conveyor init: ${err.message}`);
    return 2;
  }
}
