import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { loadHostConfig } from './host-config.js';
import type { Output } from './output.js';

interface TaskJson {
  id: number;
  workItemId: string;
  title: string;
  stage: string;
  branch: string;
  repo: string;
  blockedReason: string | null;
}

interface BudgetLineJson {
  limitUsd: number | null;
  spentUsd: number;
  remainingUsd: number | null;
}

interface BudgetJson {
  task: BudgetLineJson;
  stage: BudgetLineJson & { name: string };
}

// `  budget: $1.20 spent of $2.00 (task), $0.40 of $1.00 at development` — one line, its own.
function budgetLine(b: BudgetJson): string {
  const part = (l: BudgetLineJson, what: string) => (l.limitUsd === null ? null : `$${l.spentUsd.toFixed(2)} spent of $${l.limitUsd.toFixed(2)} ${what}`);
  const parts = [part(b.task, '(task)'), part(b.stage, `at ${b.stage.name}`)].filter(Boolean);
  return `  budget: ${parts.length ? parts.join(', ') : 'none'}`;
}

export type Global = { config?: string; url?: string; json?: boolean };

/** The API client of the host the CLI talks to (config file, `--url`, the running host's `host.json`). */
export async function client(opts: Global): Promise<ApiClient> {
  const { config, file } = await loadHostConfig(opts.config ? { config: opts.config } : {});
  return ApiClient.fromConfig(config, { file, ...(opts.url ? { url: opts.url } : {}) });
}

function line(t: TaskJson): string {
  return `${String(t.id).padStart(4)}  ${t.workItemId.padEnd(9)} ${t.stage.padEnd(15)} ${t.title}${t.blockedReason ? `  [blocked: ${t.blockedReason}]` : ''}`;
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

/** `conveyor task create|list|show|stop|approve|reject`, against the running host's API. */
export function registerTaskCommands(program: Command, io: Output, setCode: (n: number) => void): void {
  const task = program.command('task').description('create, list, show and stop tasks through the running host (`conveyor start`)');
  const common = (c: Command) =>
    c.option('-c, --config <file>', 'config file of the host (default: the nearest conveyor.config.yaml here or above)').option('--url <url>', 'host URL (default: the running host recorded in the data directory, else host.address and host.port)').option('--json', 'print the raw JSON answer');

  common(task.command('create').description('file a task in the local tracker and start its pipeline'))
    .requiredOption('-t, --title <title>', 'what the task is about')
    .option('-d, --description <text>', 'more detail for the analyst')
    .option('-r, --repo <repo>', 'repository (default: plugins.tracker-local.defaultRepo)')
    .action(async (o: Global & { title: string; description?: string; repo?: string }) => {
      const body = { title: o.title, ...(o.description ? { description: o.description } : {}), ...(o.repo ? { repo: o.repo } : {}) };
      const res = await (await client(o)).request('POST', '/tasks', body);
      setCode(report(io, res, (b: { task: TaskJson }) => `created task ${b.task.id}: ${b.task.workItemId} on branch ${b.task.branch} (${b.task.repo}); follow it with \`conveyor task show ${b.task.id}\``, o.json));
    });

  common(task.command('list').description('list tasks'))
    .option('-s, --stage <stage>', 'only this stage')
    .option('-r, --repo <repo>', 'only this repository')
    .option('--live', 'only tasks not done or cancelled')
    .action(async (o: Global & { stage?: string; repo?: string; live?: boolean }) => {
      const q = new URLSearchParams({ ...(o.stage ? { stage: o.stage } : {}), ...(o.repo ? { repo: o.repo } : {}), ...(o.live ? { live: 'true' } : {}) });
      const res = await (await client(o)).request('GET', `/tasks${q.size ? `?${q}` : ''}`);
      setCode(report(io, res, (b: { tasks: TaskJson[] }) => (b.tasks.length ? b.tasks.map(line).join('\n') : 'no tasks'), o.json));
    });

  common(task.command('show').description('one task: stage, jobs, runs, costs and what it waits for'))
    .argument('<id>', 'task id')
    .action(async (id: string, o: Global) => {
      const res = await (await client(o)).request('GET', `/tasks/${encodeURIComponent(id)}`);
      setCode(
        report(
          io,
          res,
          (b: { task: TaskJson; waitingFor: { sentence: string }; costs: { total: { costUsd: number } }; budget?: BudgetJson; transitions: { from: string; to: string }[] }) =>
            [
              line(b.task),
              `  path: ${['analysis', ...b.transitions.map((x) => x.to)].join(' → ')}`,
              `  waiting for: ${b.waitingFor.sentence}`,
              `  cost so far: $${b.costs.total.costUsd.toFixed(4)}`,
              ...(b.budget ? [budgetLine(b.budget)] : []),
            ].join('\n'),
          o.json,
        ),
      );
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
      setCode(report(io, res, (b: { task: TaskJson; budget: BudgetJson; resumed: boolean }) => [line(b.task), budgetLine(b.budget), b.resumed ? '  resumed: the stage\'s agent is queued again' : ''].filter(Boolean).join('\n'), o.json));
    });

  for (const [name, what, url] of [
    ['stop', 'the STOP status: request the task to be cancelled', 'stop'],
    ['approve', 'the Approved status at the analysis gate', 'approve'],
    ['reject', 'the Rejected status: the analyst runs again with your comment', 'reject'],
  ] as const) {
    const c = common(task.command(name).description(what)).argument('<id>', 'task id');
    if (name !== 'stop') c.option('-m, --comment <text>', 'your words to the analyst');
    c.action(async (id: string, o: Global & { comment?: string }) => {
      const res = await (await client(o)).request('POST', `/tasks/${encodeURIComponent(id)}/${url}`, name === 'stop' ? undefined : { ...(o.comment ? { comment: o.comment } : {}) });
      setCode(report(io, res, (b: unknown) => `${name}: ${JSON.stringify(b)}`, o.json));
    });
  }
}
