import { git, type GitOptions, type GitResult } from './git.js';

/**
 * Configuration forced on every git command Conveyor runs in or against an
 * agent's repository. `-c` outranks the repository's own config, so nothing an
 * agent wrote there can name a program for Conveyor's git to run. Each entry
 * closes one door an agent could plant a program behind:
 */
export const AGENT_GIT_CONFIG: readonly (readonly [string, string])[] = Object.freeze([
  // Hooks (pre-commit, post-checkout, reference-transaction …): no directory to find them in.
  ['core.hooksPath', '/dev/null'],
  // A fsmonitor is a program git runs on every status, add and checkout.
  ['core.fsmonitor', 'false'],
  // An empty value clears every helper configured before it.
  ['credential.helper', ''],
  ['core.askPass', ''],
  // Only local paths: no ssh (`core.sshCommand`), no `ext::` command, no network
  // transport an `url.*.insteadOf` could redirect Conveyor's fetch to.
  ['protocol.allow', 'never'],
  ['protocol.file.allow', 'always'],
  ['core.sshCommand', 'false'],
  ['core.gitProxy', 'false'],
  // Advertising an alternate's refs may run a command of the repository's choice.
  ['core.alternateRefsCommand', 'true'],
  // No signing program, no pager, no editor, no background maintenance.
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['core.pager', 'cat'],
  ['core.editor', 'false'],
  ['sequence.editor', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  // Fetches never recurse into submodules the agent declared.
  ['fetch.recurseSubmodules', 'false'],
  ['submodule.recurse', 'false'],
]);

/** The `-c` arguments of `AGENT_GIT_CONFIG`. */
export function agentGitConfigArgs(): string[] {
  return AGENT_GIT_CONFIG.flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

/**
 * The one way Conveyor runs git in (or reading from) a directory an agent
 * controls. Besides `AGENT_GIT_CONFIG`:
 * - the environment is the agent's (the `SAFE_ENV` allowlist plus `opts.env`),
 *   never Conveyor's: a program that slips through sees no secret;
 * - `GIT_CONFIG_NOSYSTEM` and an empty global config, so the host's own git
 *   config (which may hold credentials) is not read either;
 * - filter drivers are not neutralised here: the callers never run git with an
 *   agent's `.git` as the repository for commands that filter content (`add`,
 *   `checkout`), so a driver an agent defined is never found (see GitWorkspace).
 */
export async function agentGit(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  return git([...agentGitConfigArgs(), ...args], {
    ...opts,
    // No SSH agent, no host git config: SAFE_ENV only.
    hostEnv: [],
    env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...opts.env },
  });
}
