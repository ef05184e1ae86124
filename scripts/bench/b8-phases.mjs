// B8's breakdown of where a task's wall time goes, read back from the database
// after the run: per agent job, the phases between its rows' timestamps.
//
//   queued    job created → claimed (waiting for a slot, or for a wakeup)
//   setup     claimed → agent run started (task read, budget, worktree prepare, prompt)
//   agent     agent run started → exited (the agent process)
//   finalize  agent exited → job finished (commit + push, PR, finish comment, heartbeats)
//   handoff   job finished → the task's next job created, or the task done (the
//             advance: gates, reading artefacts, CI wait, the merge, the move)
import { median } from './stats.mjs';

const PHASES = ['queued', 'setup', 'agent', 'finalize', 'handoff'];

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** @param {import('knex').Knex} knex */
export async function readPhases(knex) {
  const jobs = (await knex('jobs').select('id', 'task_id', 'stage', 'kind', 'status', 'created_at', 'started_at', 'finished_at').orderBy('id')).map((r) => ({
    id: Number(r.id), taskId: Number(r.task_id), stage: r.stage, kind: r.kind, status: r.status,
    created: Number(r.created_at), started: r.started_at === null ? null : Number(r.started_at), finished: r.finished_at === null ? null : Number(r.finished_at),
  }));
  const runs = new Map();
  for (const r of await knex('agent_runs').select('job_id', 'started_at', 'finished_at').orderBy('id')) {
    // The last attempt's run is the one whose finish the job's finish followed.
    runs.set(Number(r.job_id), { started: Number(r.started_at), finished: r.finished_at === null ? null : Number(r.finished_at) });
  }
  const doneAt = new Map();
  for (const t of await knex('task_transitions').select('task_id', 'to_stage', 'at')) if (t.to_stage === 'done') doneAt.set(Number(t.task_id), Number(t.at));
  const byTask = new Map();
  for (const j of jobs) (byTask.get(j.taskId) ?? byTask.set(j.taskId, []).get(j.taskId)).push(j);
  const rows = [];
  for (const [taskId, list] of byTask) {
    for (let i = 0; i < list.length; i++) {
      const j = list[i];
      if (j.kind !== 'agent' || j.status !== 'done' || j.started === null || j.finished === null) continue;
      const run = runs.get(j.id);
      if (!run || run.finished === null) continue;
      const next = list.slice(i + 1).find((n) => n.kind === 'agent');
      const handoffEnd = next ? next.created : doneAt.get(taskId);
      rows.push({
        stage: j.stage,
        queued: j.started - j.created,
        setup: run.started - j.started,
        agent: run.finished - run.started,
        finalize: j.finished - run.finished,
        handoff: handoffEnd === undefined ? null : handoffEnd - j.finished,
      });
    }
  }
  return rows;
}

/** Lines for the report: per stage the median of each phase, then the sums per job. */
export function phaseReport(rows) {
  const out = [];
  const stages = [...new Set(rows.map((r) => r.stage))];
  out.push(`    phase ms per agent job, p50 (${rows.length} jobs): ${PHASES.join(' / ')}`);
  for (const s of stages) {
    const rs = rows.filter((r) => r.stage === s);
    out.push(`      ${s.padEnd(16)} ${PHASES.map((p) => String(Math.round(median(rs.map((r) => r[p]).filter((v) => v !== null)))).padStart(6)).join(' ')}  (${rs.length})`);
  }
  const all = (p) => rows.map((r) => r[p]).filter((v) => v !== null);
  out.push(`      ${'all, p50'.padEnd(16)} ${PHASES.map((p) => String(Math.round(median(all(p)))).padStart(6)).join(' ')}`);
  out.push(`      ${'all, p95'.padEnd(16)} ${PHASES.map((p) => String(Math.round(pct(all(p), 95))).padStart(6)).join(' ')}`);
  const slot = (r) => r.setup + r.agent + r.finalize + (r.handoff ?? 0);
  out.push(`    slot time per agent job (setup + agent + finalize + handoff) p50 ${Math.round(median(rows.map(slot)))} ms, of which agent ${Math.round(median(all('agent')))} ms`);
  return out;
}

/** Median per phase, for the JSON line. */
export function phaseMedians(rows) {
  return Object.fromEntries(PHASES.map((p) => [p, Math.round(median(rows.map((r) => r[p]).filter((v) => v !== null)))]));
}
