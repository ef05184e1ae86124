import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses } from './harness/index.js';

/** Short leases, a quick reaper: a paused host loses its job within a few seconds. */
const FAST_LEASE = { worker: { leaseMs: 2_000 }, plugins: { reaper: { intervalMs: 250 } } };

function stopped(pid: number): boolean {
  try {
    return /^T/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '');
  } catch {
    return false;
  }
}

// Several hosts share one database on PostgreSQL only.
if (testDatabases().includes('pg')) {
  test('[pg] a host paused (SIGSTOP) past its lease loses its job to another host; resumed, its late completion is rejected: one advance', { timeout: 150_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'paused-host', dialect: 'pg', profile: 'local', config: FAST_LEASE });
    const paused = s.host('fault-paused');
    const other = s.host('fault-other');
    // It pauses itself right after its agent's exit is recorded, before any finalizer ran.
    await paused.start({ faultPoints: 'worker.after-exit@1:stop' });
    const id = await fileLocalTask(s, 'Add a greeting');
    await s.until(() => paused.pid !== null && stopped(paused.pid), 60_000, 'the host paused after its agent exited');
    const { knex } = await s.db();
    const [first] = (await knex('jobs').where({ task_id: id }).orderBy('id')) as { id: number; attempt: number; host_id: string }[];
    assert.equal(first!.host_id, 'fault-paused');

    await other.start();
    await s.until(async () => ((await knex('jobs').where({ id: first!.id }).first()) as { status: string }).status === 'done', 60_000, 'the other host took the job over and finished it');
    const done = (await knex('jobs').where({ id: first!.id }).first()) as { attempt: number; host_id: string; recoveries: number };
    assert.equal(done.host_id, 'fault-other');
    assert.equal(done.attempt, first!.attempt + 1, 'fenced: a new attempt');
    assert.equal(done.recoveries, 1);

    // Resumed, it carries on from where it stopped: its finalizers and its finish
    // (fenced by the attempt) must do nothing — no second push, comment or advance.
    paused.signal('SIGCONT');
    await s.until(async () => (await fetch(`${paused.url}/health`)).ok, 30_000, 'the resumed host answers again');
    assert.ok(paused.running, 'the resumed host lives on');

    await s.until(async () => (await approveWaitingLocalTasks(s)) > 0 || (await allDone(s, 1)), 60_000, 'waiting for the approval');
    await s.until(() => allDone(s, 1), 90_000, 'the task done');
    const analysis = (await knex('jobs').where({ task_id: id, stage: 'analysis' }).select('id', 'status')) as { status: string }[];
    assert.deepEqual(analysis.map((j) => j.status), ['done'], 'one analyst job, finished once');
    const moves = (await knex('task_transitions').where({ task_id: id }).select('from_stage', 'to_stage')) as { from_stage: string; to_stage: string }[];
    const seen = new Set<string>();
    for (const m of moves) {
      const key = `${m.from_stage}→${m.to_stage}`;
      assert.ok(!seen.has(key), `the advance ${key} happened twice`);
      seen.add(key);
    }
    const runs = (await knex('agent_runs').where({ task_id: id, stage: 'analysis' }).orderBy('id').select('attempt')) as { attempt: number }[];
    assert.deepEqual(runs.map((r) => r.attempt), [first!.attempt, first!.attempt + 1], 'one run per attempt: the paused one, and the one that finished');

    assert.deepEqual(await paused.stop(), { code: 0, signal: null }, paused.log);
    assert.deepEqual(await other.stop(), { code: 0, signal: null }, other.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
