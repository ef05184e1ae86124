import fs from 'node:fs';
import path from 'node:path';
import { configurationFailure, parseClaudeOutput, runProcess, sandboxed, type AgentRunner, type AgentRunRequest, type AgentRunResult } from '@conveyor/core';

export interface ScriptRunnerOptions {
  /** Command line per role, run through `/bin/sh -c` in the worktree. */
  commands: Readonly<Record<string, string>>;
  /** Command for roles without their own entry; none = such a role fails. */
  defaultCommand?: string;
  /** Host variables the command may see besides PATH, HOME, locale and proxies (`NAME` or `PREFIX*`). */
  passEnv?: readonly string[];
  /** Where run logs go (`<logDir>/<work item>/<stage>-<role>-<attempt time>.log`). */
  logDir: string;
  killGraceMs?: number;
}

/**
 * Runs a configured command per role, with the task's context in its environment
 * (`CONVEYOR_WORK_ITEM`, `_STAGE`, `_BRANCH`, `_WORKTREE`, `_ARTIFACT`, `_REASON`,
 * and the prompt in `CONVEYOR_PROMPT_FILE`), in its own process group. If the
 * script prints a Claude-shaped result JSON, its usage and result are read from it
 * (so scripted agents can report costs); otherwise the result is the output's last line.
 */
export class ScriptAgentRunner implements AgentRunner {
  readonly name = 'agent-script';

  constructor(private readonly opts: ScriptRunnerOptions) {}

  async run(req: AgentRunRequest): Promise<AgentRunResult> {
    const command = this.opts.commands[req.role] ?? this.opts.defaultCommand;
    if (!command) {
      return { pid: null, exitCode: null, usage: null, result: null, logPath: null, transient: false, error: `agent-script has no command for role "${req.role}" (set plugins.agent-script.commands.${req.role})` };
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const logPath = path.resolve(this.opts.logDir, req.task.workItemId, `${req.stage}-${req.role}-${stamp}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const promptFile = logPath.replace(/\.log$/, '.prompt.md');
    fs.writeFileSync(promptFile, req.prompt);
    // Inside the sandbox the prompt file (under the hidden log directory) and the
    // files the configured command names (its script) are shown read-only.
    const inv = sandboxed(req.sandbox, { command, args: [], shell: true }, { readOnly: [promptFile, ...namedFiles(command)] });
    const proc = await runProcess({
      command: inv.command,
      args: inv.args,
      shell: inv.shell,
      cwd: req.worktree,
      env: { ...req.env, CONVEYOR_PROMPT_FILE: promptFile },
      passEnv: this.opts.passEnv ?? [],
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      logPath,
      ...(this.opts.killGraceMs !== undefined ? { killGraceMs: this.opts.killGraceMs } : {}),
      ...(req.onSpawn ? { onSpawn: req.onSpawn } : {}),
    });
    // A missing command or one that refuses its flags fails every retry the same way.
    const misconfigured = configurationFailure(proc);
    if (proc.spawnError) return { pid: null, exitCode: null, usage: null, result: null, logPath, transient: misconfigured === null, error: `could not start "${command}": ${proc.spawnError}${misconfigured ? ` (configuration: ${misconfigured}; check plugins.agent-script.commands)` : ''}` };
    if (misconfigured) {
      return { pid: proc.pid, exitCode: proc.exitCode, usage: null, result: null, logPath, transient: false, error: `configuration error, not retried: ${misconfigured}; check plugins.agent-script.commands.${req.role} (or defaultCommand)` };
    }
    if (proc.timedOut || proc.aborted) {
      return { pid: proc.pid, exitCode: null, usage: null, result: null, logPath, transient: true, error: proc.timedOut ? `timed out after ${req.timeoutMs} ms; process group killed` : 'aborted; process group killed' };
    }
    const parsed = parseClaudeOutput(proc.stdout);
    const lastLine = proc.stdout.trim().split('\n').pop() ?? '';
    const ok = proc.exitCode === 0 && (parsed.subtype === null && !parsed.isError ? true : parsed.ok);
    return {
      pid: proc.pid,
      exitCode: proc.exitCode,
      usage: parsed.usage,
      result: ok ? (parsed.result ?? lastLine) : null,
      logPath,
      ...(ok ? {} : { error: (parsed.subtype !== null || parsed.isError ? parsed.errorText : null) ?? (proc.exitCode === null ? `killed by ${proc.signal}` : `exited with ${proc.exitCode}: ${tail(proc.stderr || proc.stdout)}`) }),
    };
  }
}

/** Existing absolute paths a command line names (`node "/opt/agents/dev.mjs" …` → the script). */
export function namedFiles(command: string): string[] {
  const words = [...command.matchAll(/"([^"$`\\]*)"|'([^']*)'|([^\s"'`$;&|<>()]+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return [...new Set(words.filter((w) => path.isAbsolute(w) && fs.existsSync(w)))];
}

function tail(text: string, max = 300): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}
