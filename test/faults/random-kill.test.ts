import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveAnalysedLocalTasks, checkInvariants, FaultScenario, fileLocalTask, heartbeatsStale, progress, scenarioProcesses, SeededRandom } from './harness/index.js';

const TASKS = 2;
const KILLS = 20;
const HEARTBEAT_MS = 100;

// SIGKILL of the host at random points of a running pipeline, many times, a restart
// after each: every task still reaches done, with no duplicate branch, PR or
// comment, no agent run twice for one job attempt, and no process left behind.
for (const dialect of testDatabases()) {
  test(`[${dialect}] random SIGKILL: ${KILLS} kills of the host at random points of ${TASKS} running tasks, a restart after each; every task done, nothing twice`, { timeout: 240_000 }, async (t) => {
    const random = SeededRandom.forScenario(`random-kill ${dialect}`);
    const s = await FaultScenario.create(t, {
      name: 'random-kill',
      dialect,
      profile: 'local',
      random,
      // Twenty kills land on whatever job runs, so one job may see several: the recovery
      // budget (which blocks a job that keeps killing its host) is set out of the way here
      // and tested on its own.
      config: { worker: { heartbeatIntervalMs: HEARTBEAT_MS, recoveryBudget: KILLS + 5 }, plugins: { reconciler: { intervalMs: 250, graceMs: 1_000 } } },
    });
    const host = s.host();
    await host.start();
    for (let i = 1; i <= TASKS; i++) await fileLocalTask(s, `Add feature ${i}`);

    let kills = 0;
    while (kills < KILLS) {
      // A random point: after 1–2 more steps of the pipeline (an agent run, a
      // transition, a finished job), plus up to 150 ms into whatever comes next.
      const target = (await progress(s)) + random.int(1, 2);
      const reached = await s.until(async () => (await approveAnalysedLocalTasks(s), (await progress(s)) >= target || (await allDone(s, TASKS))), 60_000, `progress past ${target}`, 20);
      if (!reached) break;
      if (await allDone(s, TASKS)) break;
      await new Promise((r) => setTimeout(r, random.int(0, 150)));
      await host.kill();
      kills++;
      await heartbeatsStale(s, HEARTBEAT_MS * 3);
      await host.start();
    }
    process.stderr.write(`random-kill ${dialect}: ${kills} kills\n`);
    await s.until(async () => (await approveAnalysedLocalTasks(s), allDone(s, TASKS)), 120_000, 'every task done', 200);
    assert.deepEqual(await host.stop(), { code: 0, signal: null });
    await s.until(() => scenarioProcesses(s.dir).length === 0, 30_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
    assert.equal(kills, KILLS, `the host was killed ${kills} times before the tasks were done`);
  });
}
