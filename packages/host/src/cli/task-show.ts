/**
 * How `conveyor task show` renders `GET /tasks/:id`: the task line, its path, what it
 * waits for, its jobs and agent runs, its cost, and — when a person's verdict is what
 * it waits for — the analysis and the exact commands to approve or reject. Kept apart
 * from the command wiring so each part (waiting, spend) stays a small function.
 */

/** A task as the API returns it (the fields the CLI prints). */
export interface TaskJson {
  id: number;
  workItemId: string;
  title: string;
  stage: string;
  branch: string;
  repo: string;
  blockedReason: string | null;
}

interface JobJson {
  id: number;
  stage: string;
  kind: string;
  role: string | null;
  status: string;
  attempt: number;
  reason: string | null;
  error?: string | null;
}

interface RunJson {
  id: number;
  stage: string;
  role: string;
  attempt: number;
  exitCode: number | null;
  finishedAt: string | null;
  costUsd?: number | null;
  usage: { inputTokens?: number; outputTokens?: number; costUsd?: number | null } | null;
  logPath: string | null;
}

/** What the task waits for, computed by core from stored state (`conveyor.waiting`). */
interface WaitingJson {
  /** `none`, `blocked`, `running`, `held`, `delayed`, `slot`, `gate`, `idle`, or a plugin's own kind. */
  kind: string;
  /** One sentence made of the reasons. */
  sentence: string;
  reasons: { kind: string; source: string; text: string; data?: Record<string, unknown> }[];
}

/** `GET /tasks/:id`'s answer. */
export interface TaskDetailJson {
  task: TaskJson;
  jobs: JobJson[];
  agentRuns: RunJson[];
  transitions: { from: string; to: string }[];
  costs: { total: { costUsd: number } };
  waitingFor: WaitingJson;
  budget?: BudgetJson;
}

/** One budget's figures in `GET /tasks/:id` (`limitUsd` null: no budget). */
export interface BudgetLineJson {
  limitUsd: number | null;
  spentUsd: number;
  remainingUsd: number | null;
}

/** `GET /tasks/:id`'s `budget`: the task's and the current stage's. */
export interface BudgetJson {
  task: BudgetLineJson;
  stage: BudgetLineJson & { name: string };
}

// `  budget: $1.20 spent of $2.00 (task), $0.40 of $1.00 at development` — one line, its own.
export function budgetLine(b: BudgetJson): string {
  const part = (l: BudgetLineJson, what: string) => (l.limitUsd === null ? null : `$${l.spentUsd.toFixed(2)} spent of $${l.limitUsd.toFixed(2)} ${what}`);
  const parts = [part(b.task, '(task)'), part(b.stage, `at ${b.stage.name}`)].filter(Boolean);
  return `  budget: ${parts.length ? parts.join(', ') : 'none'}`;
}

/** `GET /tasks/:id/artefacts/:stage`'s answer. */
export interface ArtefactJson {
  path: string;
  body: string;
}

/** One line of `task list`; `TASK_LIST_HEADER` names its columns. */
export function taskLine(t: TaskJson): string {
  return `${String(t.id).padStart(4)}  ${t.workItemId.padEnd(9)} ${t.stage.padEnd(15)} ${t.title}${t.blockedReason ? `  [blocked: ${t.blockedReason}]` : ''}`;
}

export const TASK_LIST_HEADER = `${'ID'.padStart(4)}  ${'ITEM'.padEnd(9)} ${'STAGE'.padEnd(15)} TITLE`;

/** True when the task waits for a person's verdict at the analysis gate (the `human_approval` reason). */
export function waitsForApproval(d: TaskDetailJson): boolean {
  return d.waitingFor.kind !== 'none' && d.waitingFor.reasons.some((r) => r.kind === 'human_approval');
}

/** What the task waits for, as core's sentence. */
export function waitingSentence(w: WaitingJson): string {
  return w.sentence;
}

function runLine(r: RunJson): string {
  const cost = r.usage?.costUsd ?? r.costUsd;
  const tokens = r.usage ? `, ${r.usage.inputTokens ?? 0} in / ${r.usage.outputTokens ?? 0} out` : '';
  const exit = r.finishedAt === null ? 'running' : `exit ${r.exitCode ?? '—'}`;
  return `    run ${r.id}  ${r.stage.padEnd(15)} ${r.role} #${r.attempt}  ${exit}${tokens}${typeof cost === 'number' ? `, $${cost.toFixed(4)}` : ''}${r.logPath ? `  log: ${r.logPath}` : ''}`;
}

function jobLine(j: JobJson): string {
  return `    job ${j.id}  ${j.stage.padEnd(15)} ${(j.role ?? j.kind).padEnd(10)} ${j.status.padEnd(9)} attempt ${j.attempt}${j.reason ? `  (${j.reason})` : ''}`;
}

/** `task show`'s text; `cli` is the command prefix the hints print (e.g. `conveyor`). */
export function renderTaskShow(d: TaskDetailJson, options: { cli: string; analysis?: ArtefactJson | null }): string {
  const id = d.task.id;
  const lines = [
    taskLine(d.task),
    `  repo ${d.task.repo}, branch ${d.task.branch}`,
    `  path: ${['analysis', ...d.transitions.map((x) => x.to)].join(' → ')}`,
    `  waiting for: ${waitingSentence(d.waitingFor)}`,
    `  jobs:${d.jobs.length ? '' : ' none'}`,
    ...d.jobs.map(jobLine),
    `  agent runs:${d.agentRuns.length ? '' : ' none'}`,
    ...d.agentRuns.map(runLine),
    `  cost so far: $${d.costs.total.costUsd.toFixed(4)}`,
    ...(d.budget ? [budgetLine(d.budget)] : []),
  ];
  if (waitsForApproval(d)) {
    lines.push('');
    if (options.analysis) lines.push(`The analysis (${options.analysis.path} on branch ${d.task.branch}):`, '', ...options.analysis.body.trim().split('\n').map((l) => `  ${l}`), '');
    else lines.push(`The analysis: \`${options.cli} task artefact ${id} analysis\``);
    lines.push(`Approve: ${options.cli} task approve ${id}`, `Reject:  ${options.cli} task reject ${id} --comment "what the analyst should change"`);
  }
  return lines.join('\n');
}
