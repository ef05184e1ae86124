import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git, pidAlive, runProcess, sandboxed, type AgentSandbox, type Intake, type Logger, toError } from '@conveyor/core';

export const CI_CONTEXT = 'forge-git/test';

/** CI clones are `<tmp>/conveyor-ci-<pid>-<random>`: the pid tells a leftover from a clone in use. */
const CLONE_PREFIX = 'conveyor-ci-';

/**
 * Removes the CI clones of processes that no longer run (a kill during a CI run
 * skips its `finally`; one run left nine behind). Clones of live processes, this
 * one's included, are left alone. Returns how many were removed.
 */
export function removeLeftoverClones(tmp = os.tmpdir()): number {
  let n = 0;
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(CLONE_PREFIX)) continue;
    const pid = Number(name.slice(CLONE_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

export interface CiRunnerOptions {
  origin: (repo: string) => string;
  testCommand: (repo: string) => string | undefined;
  intake: () => Intake;
  logger: Logger;
  timeoutMs: number;
  logDir: string;
  /** The agents' sandbox: the test command runs code an agent wrote, so it runs inside it too. */
  sandbox?: AgentSandbox;
}

interface Pending {
  repo: string;
  branch: string;
  sha: string;
}

/**
 * The embedded forge's CI: runs the repo's test command on a pushed head, one run
 * at a time, in a fresh clone checked out at that sha, and reports the result as a
 * CI status through intake (as Gitea's status webhook would). No test command →
 * the head is reported green (documented). Runs of a sha already queued or done
 * are not repeated.
 */
export class CiRunner {
  readonly #queue: Pending[] = [];
  readonly #seen = new Set<string>();
  readonly #abort = new AbortController();
  #draining: Promise<void> | null = null;
  #stopped = false;
  readonly stats = { runs: 0, passed: 0, failed: 0 };

  constructor(private readonly o: CiRunnerOptions) {}

  get queued(): number {
    return this.#queue.length;
  }

  schedule(job: Pending): void {
    const key = `${job.repo}@${job.sha}`;
    if (this.#stopped || this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#queue.push(job);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#abort.abort();
    await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job && !this.#stopped; job = this.#queue.shift()) {
      try {
        await this.#run(job);
      } catch (err) {
        // One broken run must not stop CI for everyone else.
        this.o.logger.error({ repo: job.repo, sha: job.sha, err: toError(err) }, 'forge-git CI run failed to report');
      }
    }
  }

  // A clone that fails is the CI's problem, not the change's: retry a few times
  // before reporting `error` (which fails the gate and costs a developer retry).
  async #checkout(job: Pending, dir: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
        await git(['clone', '--quiet', '--no-checkout', this.o.origin(job.repo), dir], { cwd: os.tmpdir() });
        await git(['checkout', '--quiet', '--detach', job.sha], { cwd: dir });
        return;
      } catch (err) {
        if (attempt >= 3 || this.#stopped) throw err;
        this.o.logger.warn({ repo: job.repo, sha: job.sha, attempt, err: toError(err) }, 'forge-git CI checkout failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000 * attempt));
      }
    }
  }

  async #run(job: Pending): Promise<void> {
    const report = (state: 'pending' | 'success' | 'failure' | 'error', targetUrl: string | null) =>
      this.o.intake().ciStatus({ repo: job.repo, sha: job.sha, branch: job.branch, context: CI_CONTEXT, state, targetUrl });
    const command = this.o.testCommand(job.repo);
    if (!command) {
      this.o.logger.info({ repo: job.repo, sha: job.sha }, 'no repos.<repo>.testCommand: reporting the head green');
      await report('success', null);
      return;
    }
    await report('pending', null);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${CLONE_PREFIX}${process.pid}-`));
    const logPath = path.resolve(this.o.logDir, 'ci', `${job.repo.replace(/[^A-Za-z0-9._-]/g, '_')}-${job.sha.slice(0, 12)}.log`);
    try {
      await this.#checkout(job, dir);
      await this.o.sandbox?.resolve();
      const inv = sandboxed(this.o.sandbox?.forRun({ cwd: dir, readWrite: [], readOnly: [] }), { command, args: [], shell: true });
      const res = await runProcess({ command: inv.command, args: inv.args, shell: inv.shell, cwd: dir, timeoutMs: this.o.timeoutMs, signal: this.#abort.signal, logPath });
      if (res.aborted) return; // stopping: the next start re-runs it
      const ok = res.exitCode === 0;
      this.stats.runs++;
      if (ok) this.stats.passed++;
      else this.stats.failed++;
      this.o.logger.info({ repo: job.repo, branch: job.branch, sha: job.sha, exitCode: res.exitCode, timedOut: res.timedOut }, `forge-git CI ${ok ? 'passed' : 'failed'}`);
      await report(ok ? 'success' : 'failure', `file://${logPath}`);
    } catch (err) {
      await report('error', null);
      throw err;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
