import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses } from './harness/index.js';

// The window: the agent's exit is recorded, nothing is finalized yet, the host dies.
// The restart must finish from that exit — commit, push, comment once — and never run
// (nor pay for) the agent a second time.
for (const dialect of testDatabases()) {
  test(`[${dialect}] host killed right after an agent's exit was recorded: the restart finishes from that exit, the agent is not run again`, { timeout: 120_000 }, async (t) => {
    const s = await FaultScenario.create(t, { name: 'recorded-exit', dialect, profile: 'local' });
    const host = s.host();
    await host.start({ faultPoints: 'worker.after-exit@1' });
    const id = await fileLocalTask(s, 'Add a greeting');
    assert.equal((await host.exited())?.signal, 'SIGKILL', 'the host died at the fault point');
    const { knex } = await s.db();
    const [job] = (await knex('jobs').where({ task_id: id }).select('id', 'attempt', 'status')) as { id: number; attempt: number; status: string }[];
    assert.equal(job!.status, 'running');
    const runs = async () => (await knex('agent_runs').where({ job_id: job!.id }).select('attempt', 'exit_code')) as { attempt: number; exit_code: number | null }[];
    assert.deepEqual((await runs()).map((r) => [r.attempt, r.exit_code]), [[job!.attempt, 0]], 'the exit was recorded before the crash');

    await host.start();
    await s.until(async () => ((await knex('jobs').where({ id: job!.id }).first()) as { status: string }).status === 'done', 60_000, 'the analyst job finished after the restart');
    assert.deepEqual((await runs()).map((r) => r.attempt), [job!.attempt], 'no second agent run: finished from the recorded exit');
    const after = (await knex('jobs').where({ id: job!.id }).first()) as { attempt: number; recoveries: number; resume_attempt: number | null };
    assert.equal(after.attempt, job!.attempt + 1);
    assert.equal(after.resume_attempt, job!.attempt);
    assert.equal(after.recoveries, 1);

    await s.until(async () => (await approveWaitingLocalTasks(s)) > 0 || (await allDone(s, 1)), 60_000, 'waiting for the approval');
    await s.until(() => allDone(s, 1), 90_000, 'the task done');
    assert.deepEqual(await host.stop(), { code: 0, signal: null }, host.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
