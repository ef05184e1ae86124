import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { GateWaitStore } from '../ports.js';
import type { GateWait } from '../../waiting/wait-reason.js';

interface GateWaitRow {
  task_id: number;
  stage: string;
  gate: string;
  verdict: GateWait['verdict'];
  reason: string | null;
  since: number | string;
  evaluated_at: number | string;
}

@injectable()
export class KnexGateWaitStore implements GateWaitStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  async record(wait: { taskId: number; stage: string; gate: string; verdict: GateWait['verdict']; reason: string | null }): Promise<void> {
    const now = this.clock.now();
    const k = this.db.knex;
    // `since` survives re-evaluations that find the same gate saying the same thing:
    // "pending since 10:02" must not reset every time the reconciler looks.
    const same = `gate_waits.stage = excluded.stage AND gate_waits.gate = excluded.gate AND gate_waits.verdict = excluded.verdict`;
    await k('gate_waits')
      .insert({ task_id: wait.taskId, stage: wait.stage, gate: wait.gate, verdict: wait.verdict, reason: wait.reason, since: now, evaluated_at: now })
      .onConflict('task_id')
      .merge({
        stage: wait.stage,
        gate: wait.gate,
        verdict: wait.verdict,
        reason: wait.reason,
        evaluated_at: now,
        since: k.raw(`CASE WHEN ${same} THEN gate_waits.since ELSE excluded.since END`),
      });
  }

  async clear(taskId: number): Promise<void> {
    await this.db.knex('gate_waits').where({ task_id: taskId }).delete();
  }

  async get(taskId: number): Promise<GateWait | null> {
    const r = (await this.db.knex('gate_waits').where({ task_id: taskId }).first()) as GateWaitRow | undefined;
    if (!r) return null;
    return {
      taskId: r.task_id,
      stage: r.stage,
      gate: r.gate,
      verdict: r.verdict,
      reason: r.reason,
      since: new Date(Number(r.since)),
      evaluatedAt: new Date(Number(r.evaluated_at)),
    };
  }
}
