import { budgetStatus, liveTaskPages, toError, type AgentRun, type ConveyorConfig, type Database, type Logger, type Stores } from '@conveyor/core';
import { CLK_TCK, cpuTicks } from './proc-stat.js';

/** The `GET /metrics` envelope. Bump `schema_version` on any change a reader would notice. */
export interface MetricsEnvelope {
  schema_version: 1;
  generated_at: string;
  clk_tck: number;
  /** Task counts per stage. */
  stages: Record<string, number> | null;
  queue: { jobs: Record<string, number>; retries: { jobs_retried: number; retries_spent: number; exhausted: number } } | null;
  agents: { running: RunningAgent[] } | null;
  cost: { per_agent: AgentCost[]; total: Omit<AgentCost, 'agent'> } | null;
  budgets: { blocked: number; tasks: TaskBudget[] } | null;
}

export interface RunningAgent {
  job_id: number;
  task_id: number;
  stage: string;
  agent: string | null;
  host_id: string | null;
  pid: number | null;
  runtime_seconds: number | null;
  /** utime + stime in clock ticks (`clk_tck` per second); null when dead, elsewhere, or not Linux. */
  cpu_ticks: number | null;
}

export interface AgentCost {
  agent: string;
  runs: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  cost_usd: number;
}

export interface TaskBudget {
  task_id: number;
  work_item: string;
  stage: string;
  spent_usd: number;
  limit_usd: number | null;
  remaining_usd: number | null;
  blocked: boolean;
}

export interface CollectDeps {
  stores: Stores;
  db: Database;
  config: ConveyorConfig;
  hostId: string;
  logger: Logger;
  now: () => number;
}

/**
 * Reads the figures, each section on its own: a section that fails is `null` (and
 * logged), never the whole answer. Read-only.
 */
export async function collectMetrics(d: CollectDeps): Promise<MetricsEnvelope> {
  const section = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      d.logger.warn({ section: name, err: toError(err) }, 'metrics section failed; reported as null');
      return null;
    }
  };
  const now = d.now();
  const [stages, queue, agents, cost, budgets] = await Promise.all([
    section('stages', () => d.stores.tasks.countByStage()),
    section('queue', async () => {
      const jobs = await d.stores.jobs.countByStatus();
      const row = (await d.db
        .knex('jobs')
        .select(
          d.db.knex.raw('SUM(CASE WHEN retries > 0 THEN 1 ELSE 0 END) AS retried'),
          d.db.knex.raw('COALESCE(SUM(retries), 0) AS spent'),
          d.db.knex.raw(`SUM(CASE WHEN status = 'failed' AND error LIKE 'retry budget exhausted%' THEN 1 ELSE 0 END) AS exhausted`),
        )
        .first()) as Record<string, unknown> | undefined;
      return { jobs, retries: { jobs_retried: Number(row?.retried ?? 0), retries_spent: Number(row?.spent ?? 0), exhausted: Number(row?.exhausted ?? 0) } };
    }),
    section('agents', async () => {
      const running = (await d.stores.jobs.running()).filter((j) => j.kind === 'agent');
      return {
        running: running.map((j) => ({
          job_id: j.id,
          task_id: j.taskId,
          stage: j.stage,
          agent: j.role,
          host_id: j.hostId,
          pid: j.pid,
          runtime_seconds: j.startedAt ? Math.max(0, (now - j.startedAt.getTime()) / 1000) : null,
          // Another host's pid means nothing here.
          cpu_ticks: j.pid !== null && j.hostId === d.hostId ? cpuTicks(j.pid) : null,
        })),
      };
    }),
    section('cost', async () => {
      const rows = (await d.db
        .knex('agent_runs')
        .select('role')
        .count({ runs: '*' })
        .sum({ input_tokens: 'input_tokens', output_tokens: 'output_tokens', cache_read_tokens: 'cache_read_tokens', cache_creation_tokens: 'cache_creation_tokens', cost_usd: 'cost_usd' })
        .groupBy('role')
        .orderBy('role')) as Record<string, unknown>[];
      const perAgent = rows.map((r) => ({
        agent: String(r.role),
        runs: Number(r.runs ?? 0),
        input_tokens: Number(r.input_tokens ?? 0),
        output_tokens: Number(r.output_tokens ?? 0),
        cache_read_tokens: Number(r.cache_read_tokens ?? 0),
        cache_creation_tokens: Number(r.cache_creation_tokens ?? 0),
        cost_usd: Number(r.cost_usd ?? 0),
      }));
      const total = perAgent.reduce(
        (t, a) => ({ runs: t.runs + a.runs, input_tokens: t.input_tokens + a.input_tokens, output_tokens: t.output_tokens + a.output_tokens, cache_read_tokens: t.cache_read_tokens + a.cache_read_tokens, cache_creation_tokens: t.cache_creation_tokens + a.cache_creation_tokens, cost_usd: t.cost_usd + a.cost_usd }),
        { runs: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0, cost_usd: 0 },
      );
      return { per_agent: perAgent, total };
    }),
    section('budgets', async () => {
      // Every live task, a page at a time with the event loop free between pages
      // (one read used to stop at 500 live tasks and miss the rest), each page's runs in one read.
      const tasks: TaskBudget[] = [];
      let blocked = 0;
      for await (const page of liveTaskPages(d.stores.tasks)) {
        // The page's runs in one read (one read per task held the loop for the whole page).
        const runs = new Map<number, AgentRun[]>(page.map((t) => [t.id, []]));
        for (const run of await d.stores.agentRuns.listForTasks(page.map((t) => t.id))) runs.get(run.taskId)?.push(run);
        for (const task of page) {
          if (task.blockedKind === 'budget') blocked++;
          const b = budgetStatus(d.config.budgets, task, runs.get(task.id)!, task.stage);
          if (b.task.limitUsd === null && b.stage.limitUsd === null) continue;
          tasks.push({ task_id: task.id, work_item: task.workItemId, stage: task.stage, spent_usd: b.task.spentUsd, limit_usd: b.task.limitUsd, remaining_usd: b.remainingUsd, blocked: task.blockedKind === 'budget' });
        }
      }
      return { blocked, tasks };
    }),
  ]);
  return { schema_version: 1, generated_at: new Date(now).toISOString(), clk_tck: CLK_TCK, stages, queue, agents, cost, budgets };
}
