import fs from 'node:fs';
import path from 'node:path';
import {
  configurationFailure,
  classifyClaudeFailure,
  parseClaudeOutput,
  runProcess,
  sandboxed,
  type AgentRunner,
  type AgentRunRequest,
  type AgentRunResult,
  type ClaudeResult,
  type Logger,
  type ProcessResult,
} from '@conveyor/core';
import { buildClaudeInvocation, describeArgs } from './claude-args.js';
import { DEFAULT_PASS_ENV, type AgentClaudeConfig } from './config.js';

/** What the runner needs besides its config; all optional. */
export interface ClaudeAgentRunnerDeps {
  logger?: Logger;
  /** The time stamped into log file names. */
  now?: () => Date;
  /** SIGTERM → SIGKILL grace when a run is killed; runProcess's default otherwise. */
  killGraceMs?: number;
}

const MAX_ERROR_CHARS = 500;

/**
 * Runs one agent job with the Claude Code CLI in the task's worktree, in its own
 * process group, and reads the outcome from the CLI's result JSON rather than its
 * exit code (an API failure can exit 0, claude-code#79500).
 */
export class ClaudeAgentRunner implements AgentRunner {
  readonly name = 'claude';

  constructor(
    private readonly config: AgentClaudeConfig,
    private readonly deps: ClaudeAgentRunnerDeps = {},
  ) {}

  /** Runs the CLI once; never throws (a failure to start is a transient result). */
  async run(req: AgentRunRequest): Promise<AgentRunResult> {
    const logPath = this.#logPath(req);
    const { args, input } = buildClaudeInvocation({ ...this.config, maxBudgetUsd: runBudget(this.config.maxBudgetUsd, req.budgetUsd) }, req.prompt);
    // Killing the agent when its pid cannot be stamped: an unrecorded process is one the reaper cannot find.
    const local = new AbortController();
    let spawnHookError: string | null = null;
    let proc: ProcessResult;
    try {
      fs.mkdirSync(path.dirname(logPath), { recursive: true });
      fs.writeFileSync(logPath, `# ${new Date().toISOString()} cwd=${req.worktree}\n# ${this.config.command} ${describeArgs(args)}\n`, { flag: 'a' });
      // A command given by absolute path may live outside what the sandbox shows.
      const inv = sandboxed(req.sandbox, { command: this.config.command, args, shell: false }, { readOnly: path.isAbsolute(this.config.command) ? [this.config.command] : [] });
      proc = await runProcess({
        command: inv.command,
        args: inv.args,
        cwd: req.worktree,
        env: req.env,
        passEnv: [...DEFAULT_PASS_ENV, ...this.config.passEnv],
        timeoutMs: req.timeoutMs,
        signal: AbortSignal.any([req.signal, local.signal]),
        ...(this.deps.killGraceMs !== undefined ? { killGraceMs: this.deps.killGraceMs } : {}),
        logPath,
        ...(input !== undefined ? { input } : {}),
        onSpawn: async (pid) => {
          try {
            await req.onSpawn?.(pid);
          } catch (err) {
            spawnHookError = err instanceof Error ? err.message : String(err);
            local.abort(new Error(`recording the pid failed: ${spawnHookError}`));
          }
        },
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { pid: null, exitCode: null, usage: null, result: null, logPath, transient: true, error: `claude run could not start: ${message}` };
    }
    const parsed = parseClaudeOutput(proc.stdout);
    const out = mapClaudeRun(proc, parsed, { command: this.config.command, timeoutMs: req.timeoutMs, spawnHookError });
    this.deps.logger?.info(
      { workItem: req.task.workItemId, stage: req.stage, role: req.role, pid: out.pid, exitCode: out.exitCode, transient: out.transient ?? false, costUsd: out.usage?.costUsd ?? null, logPath },
      out.error ? `claude run failed: ${out.error}` : 'claude run finished',
    );
    return { ...out, logPath };
  }

  #logPath(req: AgentRunRequest): string {
    const stamp = (this.deps.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const file = `${safeSegment(req.stage)}-${safeSegment(req.role)}-${stamp}.log`;
    return path.join(path.resolve(this.config.logDir), safeSegment(req.task.workItemId), file);
  }
}

/**
 * The `--max-budget-usd` of one run: the configured per-run cap or what the task's
 * budgets leave, whichever is smaller. Rounded down to the cent so the CLI can never
 * be allowed more than is left; at least one cent, because the CLI refuses 0 (and a
 * task with nothing left is stopped before the run).
 */
export function runBudget(configured: number | undefined, remaining: number | null | undefined): number | undefined {
  if (remaining === null || remaining === undefined) return configured;
  const left = Math.max(0.01, Math.floor(remaining * 100) / 100);
  return configured === undefined ? left : Math.min(configured, left);
}

// Work item ids come from the tracker: never let one climb out of logDir.
function safeSegment(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return clean === '' || /^\.+$/.test(clean) ? '_' : clean;
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > MAX_ERROR_CHARS ? `${t.slice(0, MAX_ERROR_CHARS)}…` : t;
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > 300 ? `…${t.slice(-300)}` : t;
}

/**
 * One CLI run as an `AgentRunResult` (without `logPath`). Timeout, abort, death
 * by signal and a failed start are transient; otherwise the result JSON decides,
 * through `classifyClaudeFailure`. The real exit code is recorded; a failure the
 * JSON reports under exit 0 is carried by `error` (and `transient: false` when a
 * retry cannot help), which the worker honours.
 */
export function mapClaudeRun(
  proc: ProcessResult,
  parsed: ClaudeResult,
  context: { command: string; timeoutMs: number; spawnHookError?: string | null },
): Omit<AgentRunResult, 'logPath'> {
  const base = { pid: proc.pid, usage: parsed.usage, ...(parsed.permissionDenials.length ? { permissionDenials: parsed.permissionDenials } : {}) };
  const failed = (error: string, transient: boolean, exitCode: number | null = null) => ({ ...base, exitCode, result: null, transient, error: clip(error) });
  // A missing CLI, or one that refuses its flags (a version that does not know
  // them), fails every retry the same way: not transient.
  const misconfigured = configurationFailure(proc);
  if (proc.spawnError) {
    return failed(`could not start "${context.command}": ${spawnReason(proc.spawnError)}; is Claude Code installed, or is plugins.agent-claude.command right?`, misconfigured === null);
  }
  if (context.spawnHookError) return failed(`killed: recording the pid failed: ${context.spawnHookError}`, true);
  if (proc.timedOut) return failed(`timed out after ${context.timeoutMs} ms; the process group was killed`, true);
  if (proc.aborted) return failed(`aborted (${proc.abortReason ?? 'aborted'}); the process group was killed`, true);
  if (proc.exitCode === null) return failed(`killed by ${proc.signal ?? 'a signal'}`, true);
  if (parsed.subtype === 'error_max_budget_usd') {
    return { ...failed(parsed.errorText ?? 'the run reached its budget', false, proc.exitCode), budgetSpent: true };
  }
  if (parsed.ok) {
    if (proc.exitCode === 0) return { ...base, exitCode: 0, result: parsed.result };
    // A success result with a failing exit: the CLI died after printing it (a hook, a crash on exit).
    return failed(`claude exited ${proc.exitCode} after a success result${proc.stderr.trim() ? `: ${tail(proc.stderr)}` : ''}`, true, proc.exitCode);
  }
  const noMessage = parsed.subtype === null && !parsed.isError;
  if (noMessage && misconfigured) return failed(`configuration error, not retried: ${misconfigured}; check plugins.agent-claude (command, model, extraArgs) against the installed Claude Code`, false, proc.exitCode);
  const failure = classifyClaudeFailure(parsed) ?? { transient: true, reason: 'claude run failed' };
  const detail = noMessage ? describeGarbage(proc) : '';
  return failed(`${failure.reason}${detail}`, failure.transient, proc.exitCode);
}

// execa's message echoes the whole command line, prompt included; the job's error needs only the cause.
function spawnReason(message: string): string {
  return message
    .split('\n')
    .map((l) => l.replace(/^(Command failed with [^:]+):.*$/, '$1').trim())
    .filter(Boolean)
    .join('; ');
}

function describeGarbage(proc: ProcessResult): string {
  const parts = [`exit ${proc.exitCode}`];
  if (proc.stderr.trim()) parts.push(`stderr: ${tail(proc.stderr)}`);
  else if (proc.stdout.trim()) parts.push(`stdout: ${tail(proc.stdout)}`);
  return ` (${parts.join('; ')})`;
}
