import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClaimSql, rawRows } from '@conveyor/core';
import { createTestConveyor, RecordingLogger, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { serialGatePlugin } from '@conveyor/plugin-serial-gate';
import { taskDepsPlugin } from '@conveyor/plugin-task-deps';

const N = 100_000;
const REPOS = 200;

/**
 * 100k tasks with one job each over 200 repos: per repo, the earliest task is
 * live with a queued job, the rest queued behind it (serial-gate holds them);
 * every tenth task depends on the task before it (task-deps).
 */
async function seed(kit: TestConveyor): Promise<void> {
  const k = kit.conveyor.db.knex;
  // SQLite caps a compound SELECT (knex's multi-row insert) at 500 terms.
  const chunk = 500;
  for (let start = 0; start < N; start += chunk) {
    const rows = [];
    for (let i = start; i < Math.min(N, start + chunk); i++) {
      rows.push({ repo: `repo-${i % REPOS}`, tracker_issue_id: `seed-${i}`, work_item_id: `S-${i}`, title: 't', description: '', stage: 'analysis', branch: `s-${i}`, branch_cut: true, developer_retries: 0, created_at: 0, updated_at: 0 });
    }
    const ids = ((await k('tasks').insert(rows).returning('id')) as { id: number }[]).map((r) => r.id);
    await k('jobs').insert(ids.map((id, j) => ({ task_id: id, stage: 'analysis', kind: 'agent', role: 'analyst', status: 'queued', available_at: (start + j) % 97, created_at: 0 })));
    await k('task_deps').insert(ids.filter((id) => id % 10 === 0 && id > 1).map((id) => ({ task_id: id, depends_on: id - 1, source: 'api', created_at: 0 })));
  }
  await k('serial_gate_freezes').insert({ repo: 'repo-7', frozen_at: 0, event: 'deploy.degraded', reason: 'seed', task_id: null });
}

for (const dialect of testDatabases()) {
  test(`[${dialect}] the claim statement with serial-gate and task-deps walks indexes at 100k jobs: no sort, no scan`, { timeout: 300_000 }, async (t) => {
    const kit = await createTestConveyor({
      dialect,
      plugins: [serialGatePlugin, taskDepsPlugin],
      config: { plugins: { 'serial-gate': { enabled: true }, 'task-deps': { enabled: true } } },
    });
    t.after(() => kit.cleanup());
    assert.deepEqual(kit.conveyor.clauses.list().map((c) => c.name), ['serial-gate', 'task-deps']);
    await seed(kit);
    const db = kit.conveyor.db;
    const { sql, bindings } = buildClaimSql(db, kit.conveyor.clauses.list(), { hostId: 'h', now: 1_000 }, new RecordingLogger());
    const select = sql.slice(sql.indexOf('(SELECT') + 1, sql.lastIndexOf(') AND status'));
    const selectBindings = bindings.slice(3);
    let plan: string;
    if (db.dialect === 'pg') {
      for (const table of ['jobs', 'tasks', 'task_deps', 'serial_gate_freezes']) await db.knex.raw(`ANALYZE ${table}`);
      const rows = rawRows<{ 'QUERY PLAN': string }>(db, await db.knex.raw(`EXPLAIN ${select.replace(' FOR UPDATE OF j SKIP LOCKED', '')}`, selectBindings as never));
      plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      if (process.env.SHOW_PLAN) console.log(plan);
      assert.doesNotMatch(plan, /\bSort\b/, plan);
      assert.doesNotMatch(plan, /Seq Scan on (tasks|jobs|task_deps)\b/, plan);
      // The freeze table holds a handful of rows: a scan of it is the right plan.
      for (const index of ['jobs_claim_order', 'tasks_repo_live', 'task_deps_pkey']) assert.match(plan, new RegExp(index), plan);
    } else {
      const rows = rawRows<{ detail: string }>(db, await db.knex.raw(`EXPLAIN QUERY PLAN ${select}`, selectBindings as never));
      plan = rows.map((r) => r.detail).join('\n');
      if (process.env.SHOW_PLAN) console.log(plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
      assert.doesNotMatch(plan, /^SCAN (t|e|d|dt|f|tasks|jobs)\b/m, plan);
      for (const index of ['jobs_claim_order', 'tasks_repo_live', 'sqlite_autoindex_task_deps_1']) assert.match(plan, new RegExp(index), plan);
    }

    // And it claims the right jobs: the earliest task of each repo, not frozen, not waiting on a dependency.
    const clauses = kit.conveyor.clauses.list();
    const expected = new Set(Array.from({ length: REPOS }, (_, r) => r + 1).filter((id) => id !== 8 && id % 10 !== 0));
    for (let i = 0; i < 5; i++) {
      const job = await kit.conveyor.store.jobs.claim({ hostId: 'h', clauses, now: new Date(1_000) });
      assert.ok(job && expected.has(job.taskId), `claimed task ${job?.taskId}: the earliest of its repo, not frozen, no open dependency`);
    }
  });
}
