import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { allDone, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses, SeededRandom } from './harness/index.js';

const LEASE_MS = 2_000;
const REAPER_MS = 250;
const TASKS = 2;
const KILLS = 3;

interface JobRow {
  id: number;
  status: string;
  host_id: string | null;
  attempt: number;
}

// Several hosts share one database on PostgreSQL only.
if (testDatabases().includes('pg')) {
  test('[pg] two hosts on one database, one SIGKILLed again and again: its jobs are taken over by the other within the lease, zero double claims, every task done once', { timeout: 180_000 }, async (t) => {
    const random = SeededRandom.forScenario('two-hosts');
    const s = await FaultScenario.create(t, { name: 'two-hosts', dialect: 'pg', profile: 'local', config: { worker: { leaseMs: LEASE_MS }, plugins: { reaper: { intervalMs: REAPER_MS } } } });
    const survivor = s.host('fault-survivor');
    const victim = s.host('fault-victim');
    await survivor.start();
    await victim.start();
    for (let i = 0; i < TASKS; i++) await fileLocalTask(s, `Feature ${i + 1}`);
    const { knex } = await s.db();
    const runningOn = async (host: string): Promise<JobRow[]> => (await knex('jobs').where({ status: 'running', host_id: host }).select('id', 'status', 'host_id', 'attempt')) as JobRow[];

    let kills = 0;
    while (kills < KILLS && !(await allDone(s, TASKS))) {
      await approveWaitingLocalTasks(s);
      const held = await runningOn('fault-victim');
      if (held.length === 0) {
        await s.until(async () => (await runningOn('fault-victim')).length > 0 || (await approveWaitingLocalTasks(s)) > 0 || (await allDone(s, TASKS)), 60_000, 'the victim holding a job');
        continue;
      }
      // Seeded: the victim dies now, or once more of its work is under way.
      if (random.chance(0.3)) await s.until(async () => (await runningOn('fault-victim')).some((j) => !held.some((h) => h.id === j.id)) || (await runningOn('fault-victim')).length === 0, 10_000, 'the victim moving on', 50).catch(() => undefined);
      const taken = await runningOn('fault-victim');
      await victim.kill();
      kills++;
      // While it is down, the survivor's reaper takes each of its jobs back when the
      // lease runs out (database time), and its worker claims them: no restart needed.
      await s.until(async () => (await runningOn('fault-victim')).length === 0, LEASE_MS + REAPER_MS * 4 + 15_000, `kill ${kills}: the victim's ${taken.length} job(s) taken back`);
      for (const j of taken) {
        const now = (await knex('jobs').where({ id: j.id }).first()) as JobRow;
        assert.ok(now.attempt > j.attempt || now.status !== 'running', `job ${j.id} moved past attempt ${j.attempt}`);
        assert.notEqual(now.host_id, 'fault-victim', `job ${j.id} is not the dead host's any more`);
      }
      await victim.start();
    }
    assert.equal(kills, KILLS, `the victim was killed ${KILLS} times (seed ${random.seed})`);

    await s.until(async () => (await approveWaitingLocalTasks(s)) >= 0 && (await allDone(s, TASKS)), 120_000, 'every task done');
    // Zero double claims: every attempt of every job ran its agent at most once and no
    // task ever had two live jobs (the invariants below).
    const recovered = (await knex('jobs').where('recoveries', '>', 0).select('id')) as unknown[];
    assert.ok(recovered.length >= 1, 'jobs were recovered from the dead host');

    assert.deepEqual(await victim.stop(), { code: 0, signal: null }, victim.log);
    assert.deepEqual(await survivor.stop(), { code: 0, signal: null }, survivor.log);
    await s.until(() => scenarioProcesses(s.dir).length === 0, 20_000, 'no process of the scenario left');
    assert.deepEqual(await checkInvariants(s, { allDone: true, noProcesses: true }), []);
  });
}
