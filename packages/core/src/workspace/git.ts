import { loadExeca } from '../util/load-execa.js';
import { ConveyorError, redactCredentials } from '../errors.js';
import { childEnv } from '../util/process-group.js';

export class GitError extends Error {
  readonly code = 'CONVEYOR_GIT';
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

export interface GitOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Resolve with the failure instead of throwing (probing commands). */
  allowFailure?: boolean;
  /** Written to git's stdin (`hash-object --stdin`, `mktree`). */
  input?: string;
  /** Host variables passed besides `SAFE_ENV`; `GIT_HOST_ENV` when unset. */
  hostEnv?: readonly string[];
}

/**
 * Host variables Conveyor's own git commands see besides `SAFE_ENV`: what git needs
 * to reach a forge (an SSH agent, a configured ssh command, CA files). Never the
 * rest: a hook in the origin, or anything git runs, would see Conveyor's secrets.
 */
export const GIT_HOST_ENV: readonly string[] = ['SSH_AUTH_SOCK', 'SSH_AGENT_PID', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_SSH_VARIANT', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_CONFIG_NOSYSTEM'];

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs git without a terminal prompt, with the host environment filtered to
 * `SAFE_ENV` + `GIT_HOST_ENV` (plus `opts.env`); a non-zero exit throws a
 * `GitError` quoting the command.
 */
export async function git(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  const execa = await loadExeca();
  const res = await execa('git', [...args], {
    cwd: opts.cwd,
    reject: false,
    env: { ...childEnv(opts.hostEnv ?? GIT_HOST_ENV), GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...opts.env },
    extendEnv: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  const out = { stdout: String(res.stdout ?? '').trim(), stderr: String(res.stderr ?? '').trim(), exitCode: res.exitCode ?? -1 };
  if (out.exitCode !== 0 && !opts.allowFailure) {
    throw new GitError(redactCredentials(`git ${args.join(' ')} failed (exit ${out.exitCode}): ${out.stderr || out.stdout}`), redactCredentials(out.stderr), res.exitCode ?? null);
  }
  return out;
}

/**
 * The git-safety rule in one place: Conveyor never pushes to, force-pushes or
 * deletes the main branch or a protected branch. Checked in code before git runs,
 * so a misconfigured remote hook cannot be the only guard.
 */
export function assertTaskBranch(branch: string, repo: { mainBranch: string; protectedBranches: readonly string[] }): void {
  const name = branch.replace(/^refs\/heads\//, '');
  // A name git would refuse (or a URL would collapse: `x/../main`) could reach main
  // by another spelling: only well-formed task branch names pass.
  if (!isValidBranchName(name)) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `refusing "${name}": not a valid branch name`);
  if (name === repo.mainBranch || repo.protectedBranches.includes(name) || name === 'HEAD') {
    throw new ConveyorError('CONVEYOR_INPUT_INVALID', `refusing to push to or delete "${name}": it is the main or a protected branch`);
  }
}

/** The rules of `git check-ref-format --branch`, as far as a name alone can tell. */
export function isValidBranchName(name: string): boolean {
  if (!name || name === '@' || name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.startsWith('-')) return false;
  if (name.includes('..') || name.includes('//') || name.includes('@{')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((seg) => seg !== '' && !seg.startsWith('.') && !seg.endsWith('.lock'));
}

/** A filesystem-safe key for a repo or branch name (`acme/app` → `acme_app`). */
export function sanitizeKey(name: string): string {
  const key = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_');
  if (!key || key === '.' || key === '..') throw new ConveyorError('CONVEYOR_INPUT_INVALID', `cannot make a workspace key from "${name}"`);
  return key;
}
