import { runProcess, sandboxed, type AgentSandbox } from '@conveyor/core';

/** One run of the repo's test command on the combined tree. */
export interface RetestAttempt {
  attempt: number;
  exitCode: number | null;
  timedOut: boolean;
  /** The tail of stdout and stderr, for the developer on rollback and for people. */
  output: string;
}

/** The re-test's verdict over every attempt. */
export interface RetestResult {
  passed: boolean;
  /** Red first, green on a later attempt: accepted, but reported, never silent. */
  flaky: boolean;
  attempts: RetestAttempt[];
}

/** How much output each attempt keeps. */
const OUTPUT_TAIL = 8_000;

/**
 * Runs `command` in `dir` up to `attempts` times, stopping at the first pass. The
 * tree holds an agent's code: with the agent sandbox on, the command runs inside it.
 */
export async function retest(o: { command: string; dir: string; attempts: number; timeoutMs: number; sandbox?: AgentSandbox; signal?: AbortSignal }): Promise<RetestResult> {
  const runs: RetestAttempt[] = [];
  await o.sandbox?.resolve();
  for (let attempt = 1; attempt <= Math.max(1, o.attempts); attempt++) {
    const inv = sandboxed(o.sandbox?.forRun({ cwd: o.dir, readWrite: [], readOnly: [] }), { command: o.command, args: [], shell: true });
    const res = await runProcess({ command: inv.command, args: inv.args, shell: inv.shell, cwd: o.dir, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
    const output = `${res.stdout ?? ''}\n${res.stderr ?? ''}`.trim();
    runs.push({ attempt, exitCode: res.exitCode, timedOut: res.timedOut, output: output.length > OUTPUT_TAIL ? output.slice(-OUTPUT_TAIL) : output });
    if (res.exitCode === 0 && !res.timedOut) return { passed: true, flaky: attempt > 1, attempts: runs };
  }
  return { passed: false, flaky: false, attempts: runs };
}
