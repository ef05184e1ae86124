import { budgetStatus, summarizeCosts, TERMINAL_STAGES, type AgentRun, type CiStatus, type ArtifactReader, type BudgetStatus, type BudgetsConfig, type CostSummary, type InstanceView, type Job, type Lease, type Pipeline, type QueueSnapshot, type Stores, type Task, type WaitingFor } from '@conveyor/core';

/** What the pages read: the stored state, never git, a forge or a tracker (artefacts aside). */
export interface DashboardSources {
  stores: Stores;
  waiting: { forTask(task: Task): Promise<WaitingFor> };
  pipeline: Pipeline;
  budgets: BudgetsConfig;
  instance: InstanceView;
  /** The artefact reader, when the instance has one. */
  artefacts(): ArtifactReader | null;
  /** Whether a stop is applied (a plugin binds the canceller), not only recorded. */
  canCancel(): boolean;
  now(): Date;
}

/** The tasks list's filter, from the query string. */
export interface TaskFilter {
  state: 'all' | 'live' | 'blocked' | 'done';
  repo: string | null;
  q: string | null;
}

export interface TaskRow {
  task: Task;
  waitingFor: WaitingFor;
  spentUsd: number;
  budget: BudgetStatus;
}

export interface TaskDetail extends TaskRow {
  jobs: Job[];
  runs: AgentRun[];
  transitions: { from: string; to: string; reason: string; at: Date }[];
  costs: CostSummary;
  artefacts: { stage: string; path: string; body: string }[];
  /** The CI statuses of the task branch's commits, newest first. */
  ci: CiStatus[];
}

const isTerminal = (t: Task): boolean => (TERMINAL_STAGES as readonly string[]).includes(t.stage);

/** Whether a task passes the filter (the state, the repo, the search over work item and title). */
export function matches(task: Task, f: TaskFilter): boolean {
  if (f.repo && task.repo !== f.repo) return false;
  if (f.state === 'live' && isTerminal(task)) return false;
  if (f.state === 'blocked' && (task.blockedAt === null || isTerminal(task))) return false;
  if (f.state === 'done' && !isTerminal(task)) return false;
  if (f.q) {
    const needle = f.q.toLowerCase();
    if (!`${task.workItemId} ${task.title}`.toLowerCase().includes(needle)) return false;
  }
  return true;
}

async function row(src: DashboardSources, task: Task): Promise<TaskRow & { runs: AgentRun[] }> {
  const [waitingFor, runs] = await Promise.all([src.waiting.forTask(task), src.stores.agentRuns.listForTask(task.id)]);
  const budget = budgetStatus(src.budgets, task, runs, task.stage);
  return { task, waitingFor, runs, spentUsd: budget.task.spentUsd, budget };
}

/** The newest `limit` tasks that pass the filter (newest first), and every repo seen. */
export async function loadTaskRows(src: DashboardSources, filter: TaskFilter, limit: number): Promise<{ rows: TaskRow[]; repos: string[] }> {
  const all = await src.stores.tasks.list({ limit: 500 });
  const repos = [...new Set(all.map((t) => t.repo))].sort();
  const picked = all.filter((t) => matches(t, filter)).reverse().slice(0, limit);
  const rows = await Promise.all(picked.map((t) => row(src, t)));
  return { rows: rows.map(({ runs: _runs, ...r }) => r), repos };
}

/** One task with its runs, jobs, timeline and each reached stage's artefact; null when it does not exist. */
export async function loadTaskDetail(src: DashboardSources, id: number): Promise<TaskDetail | null> {
  const task = await src.stores.tasks.get(id);
  if (!task) return null;
  const [base, jobs, transitions, ci] = await Promise.all([row(src, task), src.stores.jobs.listForTask(id), src.stores.tasks.transitions(id), task.branch ? src.stores.ciStatuses.forBranch(task.repo, task.branch, 20) : Promise.resolve([])]);
  const reader = src.artefacts();
  const reached = new Set([task.stage, ...transitions.flatMap((t) => [t.from, t.to])]);
  const stages = src.pipeline.stages.filter((s) => s.agent && reached.has(s.name));
  const artefacts: TaskDetail['artefacts'] = [];
  if (reader && task.branch) {
    for (const s of stages) {
      // A missing or unreadable artefact is not the page's failure: the stage just shows none.
      const a = await reader.read(task, s.name).catch(() => null);
      if (a) artefacts.push({ stage: s.name, path: a.path, body: a.body });
    }
  }
  return { ...base, jobs, transitions, costs: summarizeCosts(base.runs), artefacts, ci };
}

export interface QueueView {
  snapshot: QueueSnapshot;
  leases: Lease[];
}

export async function loadQueue(src: DashboardSources): Promise<QueueView> {
  const [snapshot, leases] = await Promise.all([src.instance.snapshot(), src.stores.leases.list()]);
  return { snapshot, leases };
}

export interface CostView {
  runs: (AgentRun & { repo: string })[];
  /** Time spent in each stage, per visit, in ms. */
  stageDurations: Map<string, number[]>;
  tasks: number;
}

/** The agent runs and stage visits of the newest `limit` tasks. */
export async function loadCost(src: DashboardSources, limit: number): Promise<CostView> {
  const tasks = (await src.stores.tasks.list({ limit: 500 })).slice(-limit);
  const runs: CostView['runs'] = [];
  const stageDurations = new Map<string, number[]>();
  for (const task of tasks) {
    const [taskRuns, transitions] = await Promise.all([src.stores.agentRuns.listForTask(task.id), src.stores.tasks.transitions(task.id)]);
    for (const r of taskRuns) runs.push({ ...r, repo: task.repo });
    let enteredAt = task.createdAt.getTime();
    for (const t of transitions) {
      const list = stageDurations.get(t.from) ?? [];
      list.push(t.at.getTime() - enteredAt);
      stageDurations.set(t.from, list);
      enteredAt = t.at.getTime();
    }
  }
  return { runs, stageDurations, tasks: tasks.length };
}
