import { inject, injectable } from 'tsyringe';
import type { AgentRun, PermissionDenial, TokenUsage } from '../../domain.js';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { AgentRunStore } from '../ports.js';
import { toAgentRun } from './rows.js';

@injectable()
export class KnexAgentRunStore implements AgentRunStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  async start(input: { jobId: number; taskId: number; stage: string; role: string; attempt: number; pid: number | null }): Promise<AgentRun> {
    const rows = (await this.db
      .knex('agent_runs')
      .insert({
        job_id: input.jobId,
        task_id: input.taskId,
        stage: input.stage,
        role: input.role,
        attempt: input.attempt,
        pid: input.pid,
        started_at: this.clock.now(),
      })
      .returning('*')) as Record<string, unknown>[];
    return toAgentRun(rows[0]!);
  }

  async setPid(runId: number, pid: number): Promise<void> {
    await this.db.knex('agent_runs').where({ id: runId }).update({ pid });
  }

  async recordExit(
    runId: number,
    exit: { exitCode: number | null; result: string | null; usage: TokenUsage | null; logPath: string | null; permissionDenials?: readonly PermissionDenial[] },
  ): Promise<void> {
    const u = exit.usage;
    await this.db
      .knex('agent_runs')
      .where({ id: runId })
      .update({
        exit_code: exit.exitCode,
        finished_at: this.clock.now(),
        result: exit.result,
        log_path: exit.logPath,
        input_tokens: u ? u.inputTokens : null,
        output_tokens: u ? u.outputTokens : null,
        cache_read_tokens: u ? u.cacheReadTokens : null,
        cache_creation_tokens: u ? u.cacheCreationTokens : null,
        cost_usd: u ? u.costUsd : null,
        model: u ? u.model : null,
        permission_denials: exit.permissionDenials?.length ? JSON.stringify(exit.permissionDenials) : null,
      });
  }

  async latestForStage(taskId: number, stage: string): Promise<AgentRun | null> {
    const row = await this.db.knex('agent_runs').where({ task_id: taskId, stage }).orderBy('id', 'desc').first();
    return row ? toAgentRun(row) : null;
  }

  async listForTask(taskId: number): Promise<AgentRun[]> {
    return (await this.db.knex('agent_runs').where({ task_id: taskId }).orderBy('id', 'asc')).map(toAgentRun);
  }

  async listForTasks(taskIds: readonly number[]): Promise<AgentRun[]> {
    if (taskIds.length === 0) return [];
    return ((await this.db.knex('agent_runs').whereIn('task_id', [...new Set(taskIds)]).orderBy('id', 'asc')) as Record<string, unknown>[]).map(toAgentRun);
  }

  async forJobAttempt(jobId: number, attempt: number): Promise<AgentRun | null> {
    const row = await this.db.knex('agent_runs').where({ job_id: jobId, attempt }).first();
    return row ? toAgentRun(row) : null;
  }

  async forJobAttempts(keys: readonly { jobId: number; attempt: number }[]): Promise<AgentRun[]> {
    if (keys.length === 0) return [];
    const wanted = new Set(keys.map((k) => `${k.jobId}:${k.attempt}`));
    // By job (the unique index's first column), the attempts picked out here: a job has a run per attempt, a few at most.
    const rows = (await this.db.knex('agent_runs').whereIn('job_id', [...new Set(keys.map((k) => k.jobId))])) as Record<string, unknown>[];
    return rows.map(toAgentRun).filter((r) => wanted.has(`${r.jobId}:${r.attempt}`));
  }
}
