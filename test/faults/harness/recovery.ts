import type { FaultScenario } from './fault-scenario.js';

/**
 * Waits until no job is `running` with a heartbeat fresher than `staleAfterMs`: the
 * state a host's start-up recovery takes for "its worker is gone". A supervisor's
 * restart delay, read from the database rather than slept.
 */
export async function heartbeatsStale(s: FaultScenario, staleAfterMs: number, timeoutMs = 20_000): Promise<void> {
  const { knex } = await s.db();
  await s.until(
    async () => {
      const fresh = await knex('jobs').where({ status: 'running' }).andWhere('heartbeat_at', '>', Date.now() - staleAfterMs).first('id');
      return !fresh;
    },
    timeoutMs,
    'the killed host\'s heartbeats gone stale',
    50,
  );
}

/** How far the pipeline has got: transitions plus agent runs plus finished jobs (grows with every step). */
export async function progress(s: FaultScenario): Promise<number> {
  const { knex } = await s.db();
  const [t, r, j] = await Promise.all([
    knex('task_transitions').count({ n: '*' }),
    knex('agent_runs').count({ n: '*' }),
    knex('jobs').whereIn('status', ['done', 'failed']).count({ n: '*' }),
  ]);
  return Number(t[0]!.n) + Number(r[0]!.n) + Number(j[0]!.n);
}

/**
 * The person at the analysis gate on the local tracker, as the task view shows it:
 * approves every task at analysis whose analyst succeeded and that has no verdict
 * and no live job. Returns how many it approved.
 */
export async function approveAnalysedLocalTasks(s: FaultScenario): Promise<number> {
  const { knex } = await s.db();
  const rows = (await knex('tasks as t')
    .select('t.id')
    .where('t.stage', 'analysis')
    .whereNull('t.human_verdict')
    .whereExists(knex('agent_runs as r').select(knex.raw('1')).whereRaw('r.task_id = t.id').andWhere({ 'r.stage': 'analysis', 'r.exit_code': 0 }))
    .whereNotExists(knex('jobs as j').select(knex.raw('1')).whereRaw('j.task_id = t.id').whereIn('j.status', ['queued', 'running']))) as { id: number }[];
  let n = 0;
  for (const { id } of rows) {
    try {
      if ((await s.api('POST', `/tasks/${id}/approve`, {})).status === 202) n++;
    } catch {
      // the host went down meanwhile: the person tries again later
    }
  }
  return n;
}
