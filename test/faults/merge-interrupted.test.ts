import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { approveAnalysedLocalTasks, checkInvariants, FaultScenario, fileLocalTask, heartbeatsStale, scenarioProcesses } from './harness/index.js';

// The host dies between the forge's merge and its record (fault point
// `merge.after-forge-merge`). The restart, with the reconciler off, asks the forge,
// finds the pull request merged, and completes the task: no second merge.
for (const dialect of testDatabases()) {
  test(`[${dialect}] killed between the forge's merge and its record: the restart asks the forge and completes the task, merging once`, { timeout: 120_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'merge-interrupted', dialect, profile: 'local', config: { worker: { heartbeatIntervalMs: 200 }, plugins: { reconciler: { enabled: false } } } });
    const host = s.host();
    await host.start({ faultPoints: 'merge.after-forge-merge' });
    const id = await fileLocalTask(s, 'Add a greeting');
    await s.until(async () => (await approveAnalysedLocalTasks(s), !host.running), 90_000, 'the host killed at merge.after-forge-merge', 100);
    assert.equal((await host.exited())?.signal, 'SIGKILL');
    const { knex } = await s.db();
    const stranded = (await knex('tasks').where({ id }).first('stage', 'merge_initiated_at', 'merged_at')) as { stage: string; merge_initiated_at: unknown; merged_at: unknown };
    assert.equal(stranded.stage, 'deploy');
    assert.ok(stranded.merge_initiated_at !== null && stranded.merged_at === null, 'the merge is marked INITIATED, not recorded');
    const merges = () => execFileSync('git', ['rev-list', '--merges', '--count', 'main'], { cwd: s.origin.origin, encoding: 'utf8' }).trim();
    const mergedBefore = merges();

    await heartbeatsStale(s, 600);
    await host.start();
    await s.until(async () => ((await knex('tasks').where({ id }).first('stage')) as { stage: string }).stage === 'done', 30_000, 'the task done after the restart');
    assert.equal(merges(), mergedBefore, 'no second merge on main');
    assert.deepEqual(await host.stop(), { code: 0, signal: null });
    await s.until(() => scenarioProcesses(s.dir).length === 0, 30_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
