import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { loadHostConfig } from './host-config.js';
import type { Output } from './output.js';
import { budgetLine, renderTaskShow, TASK_LIST_HEADER, taskLine, waitsForApproval, type ArtefactJson, type BudgetJson, type TaskDetailJson, type TaskJson } from './task-show.js';

import { cliCommand } from './invocation.js';
import { watchTask } from './task-watch.js';

export type Global = { config?: string; url?: string; json?: boolean };

/** The API client of the host the CLI talks to (config file, `--url`, the running host's `host.json`). */
export async function client(opts: Global): Promise<ApiClient> {
  const { config, file } = await loadHostConfig(opts.config ? { config: opts.config } : {});
  return ApiClient.fromConfig(config, { file, ...(opts.url ? { url: opts.url } : {}) });
}

/** Prints an API answer, or its error; returns the exit code. */
export function report(io: Output, res: { status: number; body: unknown }, ok: (body: never) => string, json?: boolean): number {
  if (res.status >= 400) {
    const b = res.body as { message?: string; error?: string } | null;
    io.err(`error ${res.status}: ${b?.message ?? b?.error ?? JSON.stringify(res.body)}`);
    return res.status === 404 ? 3 : 1;
  }
  io.out(json ? JSON.stringify(res.body) : ok(res.body as never));
  return 0;
}

/** `conveyor task create|list|show|stop|retry|confirm-deploy|approve|reject`, against the running host's API. */
export function registerTaskCommands(program: Command, io: Output, setCode: (n: number) => void): void {
  const task = program
    .command('task')
    .usage('<command> [options]')
    // A mistyped sub-command (`task shwo 1`) must say so, not print the group's help and exit 0.
    .argument('[command]')
    .allowExcessArguments(true)
    .action((name: string | undefined) => {
      if (name === undefined) {
        io.out(task.helpInformation().trimEnd());
        return setCode(0);
      }
      io.err(`conveyor task: unknown sub-command "${name}"; one of: ${task.commands.map((c) => c.name()).join(', ')} (\`${cliCommand()} task --help\`)`);
      setCode(2);
    });
  const common = (c: Command) =>
    c.option('-c, --config <file>', 'config file of the host (default: the nearest conveyor.config.yaml here or above)').option('--url <url>', 'host URL (default: the running host recorded in the data directory, else host.address and host.port)').option('--json', 'print the raw JSON answer');

  common(task.command('create').description('file a task in the local tracker and start its pipeline'))
    .requiredOption('-t, --title <title>', 'what the task is about')
    .option('-d, --description <text>', 'more detail for the analyst')
    .option('-r, --repo <repo>', 'repository (default: plugins.tracker-local.defaultRepo)')
    .action(async (o: Global & { title: string; description?: string; repo?: string }) => {
      const body = { title: o.title, ...(o.description ? { description: o.description } : {}), ...(o.repo ? { repo: o.repo } : {}) };
      const res = await (await client(o)).request('POST', '/tasks', body);
      setCode(report(io, res, (b: { task: TaskJson }) => `created task ${b.task.id}: ${b.task.workItemId} on branch ${b.task.branch} (${b.task.repo}); follow it with \`${cliCommand()} task show ${b.task.id}\``, o.json));
    });

  common(task.command('list').description('list tasks, newest first'))
    .option('-s, --stage <stage>', 'only this stage')
    .option('-r, --repo <repo>', 'only this repository')
    .option('--live', 'only tasks not done or cancelled')
    .option('-n, --limit <n>', 'at most this many tasks (1–500)', (v) => Number.parseInt(v, 10))
    .action(async (o: Global & { stage?: string; repo?: string; live?: boolean; limit?: number }) => {
      const q = new URLSearchParams({ ...(o.stage ? { stage: o.stage } : {}), ...(o.repo ? { repo: o.repo } : {}), ...(o.live ? { live: 'true' } : {}), ...(o.limit !== undefined ? { limit: String(o.limit) } : {}) });
      const res = await (await client(o)).request('GET', `/tasks${q.size ? `?${q}` : ''}`);
      setCode(report(io, res, (b: { tasks: TaskJson[] }) => (b.tasks.length ? [TASK_LIST_HEADER, ...b.tasks.map(taskLine)].join('\n') : `no tasks; file one with \`${cliCommand()} task create --title "…"\``), o.json));
    });

  common(task.command('show').description('one task: stage, what it waits for, jobs, agent runs, cost; at the analysis gate, the analysis and how to approve or reject'))
    .argument('<id>', 'task id')
    .option('-w, --watch', 'follow the task live until it ends (as `task watch`)')
    .action(async (id: string, o: Global & { watch?: boolean }) => {
      const api = await client(o);
      if (o.watch) return setCode(await watchTask(api, id, io, { cli: cliCommand() }));
      const res = await api.request<TaskDetailJson>('GET', `/tasks/${encodeURIComponent(id)}`);
      let analysis: ArtefactJson | null = null;
      if (res.status === 200 && !o.json && waitsForApproval(res.body)) {
        const a = await api.request<ArtefactJson>('GET', `/tasks/${encodeURIComponent(id)}/artefacts/analysis`);
        if (a.status === 200) analysis = a.body;
      }
      setCode(report(io, res, (b: TaskDetailJson) => renderTaskShow(b, { cli: cliCommand(), analysis }), o.json));
    });

  common(task.command('watch').description('follow a task live: a line per stage change, wait and finished agent run, until it ends (exit 0 when done)'))
    .argument('<id>', 'task id')
    .action(async (id: string, o: Global) => setCode(await watchTask((await client(o)), id, io, { cli: cliCommand() })));

  common(task.command('logs').description("print the agent logs of a task's runs, oldest first"))
    .argument('<id>', 'task id')
    .option('-s, --stage <stage>', 'only this stage')
    .action(async (id: string, o: Global & { stage?: string }) => {
      const res = await (await client(o)).request<LogsJson>('GET', `/tasks/${encodeURIComponent(id)}/logs${o.stage ? `?stage=${encodeURIComponent(o.stage)}` : ''}`);
      setCode(report(io, res, (b: LogsJson) => renderLogs(b, o.stage), o.json));
    });

  common(task.command('artefact').description("print a stage's artefact (e.g. the analysis) from the task branch"))
    .argument('<id>', 'task id')
    .argument('<stage>', 'pipeline stage (analysis, architecture, development, review, testing, …)')
    .action(async (id: string, stage: string, o: Global) => {
      const res = await (await client(o)).request('GET', `/tasks/${encodeURIComponent(id)}/artefacts/${encodeURIComponent(stage)}`);
      setCode(report(io, res, (b: ArtefactJson) => `# ${b.path}\n\n${b.body.trimEnd()}`, o.json));
    });

  common(task.command('stop').description('the STOP status: cancel the task (its agent, jobs, worktree and branch); deferred past an irreversible merge'))
    .argument('<id>', 'task id')
    .action(async (id: string, o: Global) => {
      const res = await (await client(o)).request('POST', `/tasks/${encodeURIComponent(id)}/stop`);
      setCode(
        report(io, res, (b: { firstRequest: boolean; state: string; detail: string }) => `task ${id}: stop ${b.firstRequest ? 'requested' : 'was already requested'}; ${b.state === 'applied' ? '' : `${b.state}: `}${b.detail}`, o.json),
      );
    });

  common(task.command('confirm-deploy').description('the Confirm Deploy status: let the deployer run a task waiting at deploy (deploy.confirm)'))
    .argument('<id>', 'task id')
    .action(async (id: string, o: Global) => {
      const res = await (await client(o)).request('POST', `/tasks/${encodeURIComponent(id)}/confirm-deploy`);
      setCode(report(io, res, (b: { outcome: string; detail: string }) => `task ${id}: ${b.detail}`, o.json));
    });

  common(task.command('retry').description('resume a blocked task: a fresh retry budget, its stage\'s agent queued again'))
    .argument('<id>', 'task id')
    .option('-f, --from <stage>', 'resume at this earlier stage instead')
    .option('-m, --reason <text>', 'why, in your words (recorded, and given to the agent)')
    .action(async (id: string, o: Global & { from?: string; reason?: string }) => {
      const res = await (await client(o)).request('POST', `/tasks/${encodeURIComponent(id)}/retry`, { ...(o.from ? { from: o.from } : {}), ...(o.reason ? { reason: o.reason } : {}) });
      setCode(report(io, res, (b: { task: TaskJson; jobId: number; from: string; to: string; stoppedBecause: string }) => [taskLine(b.task), `  retried${b.to === b.from ? '' : ` from ${b.to}`}: job ${b.jobId} queued (it had stopped: ${b.stoppedBecause})`].join('\n'), o.json));
    });

  common(task.command('budget').description('set the task\'s budget in USD (or one stage\'s); a task stopped by its budget resumes'))
    .argument('<id>', 'task id')
    .argument('<usd>', 'the new budget in USD, more than already spent')
    .option('-s, --stage <stage>', 'set this stage\'s budget instead of the task\'s')
    .action(async (id: string, usd: string, o: Global & { stage?: string }) => {
      const amount = Number(usd);
      if (!Number.isFinite(amount) || amount <= 0) {
        io.err(`error: the budget must be a positive number of USD, got "${usd}"`);
        setCode(1);
        return;
      }
      const res = await (await client(o)).request('POST', `/tasks/${encodeURIComponent(id)}/budget`, { usd: amount, ...(o.stage ? { stage: o.stage } : {}) });
      setCode(report(io, res, (b: { task: TaskJson; budget: BudgetJson; resumed: boolean }) => [taskLine(b.task), budgetLine(b.budget), b.resumed ? '  resumed: the stage\'s agent is queued again' : ''].filter(Boolean).join('\n'), o.json));
    });

  for (const verdict of ['approve', 'reject'] as const) {
    common(task.command(verdict).description(verdict === 'approve' ? 'the Approved status at the analysis gate: the pipeline goes on' : 'the Rejected status: the analyst runs again with your comment'))
      .argument('<id>', 'task id')
      .option('-m, --comment <text>', 'your words to the analyst')
      .action(async (id: string, o: Global & { comment?: string }) => {
        const res = await (await client(o)).request<VerdictJson>('POST', `/tasks/${encodeURIComponent(id)}/${verdict}`, { ...(o.comment ? { comment: o.comment } : {}) });
        if (res.status >= 400 || o.json) return setCode(report(io, res, () => '', o.json));
        const said = verdictSentence(Number(id), verdict, res.body.outcome);
        (said.happened ? io.out : io.err)(said.text);
        // Nothing happened (the task was not waiting for a verdict): a script must notice.
        setCode(said.happened ? 0 : 4);
      });
  }
}

/**
 * The summary in `conveyor --help` names every `task` sub-command, so none is hidden
 * behind `task --help`. Called once every module has added its own (`task deps` …).
 */
export function describeTaskGroup(program: Command): void {
  const task = program.commands.find((c) => c.name() === 'task');
  task?.description(`tasks on the running host (\`start\`): ${task.commands.map((c) => c.name()).join(', ')}`);
}

interface LogsJson {
  taskId: number;
  runs: { runId: number; stage: string; role: string; attempt: number; exitCode: number | null; logPath: string | null; text: string | null; truncated: boolean; missing: boolean }[];
}

function renderLogs(b: LogsJson, stage?: string): string {
  if (b.runs.length === 0) return `task ${b.taskId} has no agent runs${stage ? ` at ${stage}` : ''} yet`;
  return b.runs
    .map((r) => {
      const head = `==> run ${r.runId}: ${r.role} at ${r.stage}, attempt ${r.attempt}, exit ${r.exitCode ?? '—'} (${r.logPath ?? 'no log file'})${r.truncated ? ' — last 256 KiB' : ''}`;
      const body = r.text ?? (r.logPath ? '(the log file is gone)' : '(the runner kept no log)');
      return `${head}\n${body.trimEnd()}`;
    })
    .join('\n\n');
}

interface VerdictJson {
  outcome: { kind: string; from?: string; to?: string; gate?: string; reason?: string; stage?: string; jobId?: number };
}

/** What an approval or rejection did, as a sentence; `happened` is false when nothing changed. */
export function verdictSentence(id: number, verdict: 'approve' | 'reject', o: VerdictJson['outcome']): { happened: boolean; text: string } {
  const done = verdict === 'approve' ? 'approved' : 'rejected';
  switch (o.kind) {
    case 'advanced':
      return { happened: true, text: `task ${id} ${done}: it moved from ${o.from} to ${o.to}` };
    case 'relaunched':
      return { happened: true, text: `task ${id} rejected: the analyst runs again with your comment` };
    case 'busy':
      return { happened: true, text: `task ${id} ${done}: recorded; a job of the task is still queued or running (job ${o.jobId}), and the verdict counts when it finishes` };
    case 'pending':
      return { happened: true, text: `task ${id} ${done}: recorded, but it stays: gate ${o.gate} is pending (${o.reason})` };
    case 'ignored':
      return { happened: false, text: `nothing happened: task ${id} is not waiting for a verdict (only a task at the analysis gate is); see \`${cliCommand()} task show ${id}\`` };
    case 'stale':
      return { happened: false, text: `nothing happened: task ${id} is at ${o.stage}, not at the analysis gate` };
    default:
      return { happened: true, text: `task ${id} ${done}: ${o.kind}${o.gate ? ` (gate ${o.gate}${o.reason ? `: ${o.reason}` : ''})` : ''}` };
  }
}
