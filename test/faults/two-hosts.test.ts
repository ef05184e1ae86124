import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { testDatabases } from '@conveyor/core/testing';
import { DEMO_AGENT } from '@conveyor/host';
import { allDone, approveWaitingLocalTasks, checkInvariants, FaultScenario, fileLocalTask, scenarioProcesses, SeededRandom } from './harness/index.js';

const LEASE_MS = 2_000;
const REAPER_MS = 250;
const TASKS = 3;
const KILLS = 3;

interface JobRow {
  id: number;
  status: string;
  host_id: string | null;
  attempt: number;
}

/** Where each task stands and its last jobs, for a failure message. */
async function describe(knex: import('knex').Knex): Promise<string> {
  const tasks = (await knex('tasks').select('id', 'stage', 'blocked_reason').orderBy('id')) as { id: number; stage: string; blocked_reason: string | null }[];
  const lines: string[] = [];
  for (const t of tasks) {
    lines.push(`task ${t.id} at ${t.stage}${t.blocked_reason ? ` blocked: ${t.blocked_reason}` : ''}`);
    const jobs = (await knex('jobs').where({ task_id: t.id }).orderBy('id', 'desc').limit(4)) as Record<string, unknown>[];
    for (const j of jobs) lines.push(`  job ${j.id} ${j.stage}/${j.kind} ${j.status} attempt ${j.attempt} host ${j.host_id} recoveries ${j.recoveries} retries ${j.retries} error ${j.error}`);
    const moves = (await knex('task_transitions').where({ task_id: t.id }).orderBy('id', 'desc').limit(2)) as Record<string, unknown>[];
    for (const m of moves) lines.push(`  moved ${m.from_stage} → ${m.to_stage}: ${m.reason}`);
  }
  return lines.join('\n');
}

// Several hosts share one database on PostgreSQL only.
if (testDatabases().includes('pg')) {
  test('[pg] two hosts on one database, one SIGKILLed again and again: its jobs are taken over by the other within the lease, zero double claims, every task done once', { timeout: 180_000 }, async (t) => {
    const random = SeededRandom.forScenario('two-hosts');
    const s = await FaultScenario.create(t, { name: 'two-hosts', dialect: 'pg', profile: 'local', config: {
        worker: { leaseMs: LEASE_MS },
        // Agents that take a moment, so a kill can land inside one.
        // Merges serialised by merge-gate's lease, whichever host runs them.
        plugins: { reaper: { intervalMs: REAPER_MS }, 'merge-gate': { enabled: true, busyDelayMs: 500 }, 'agent-script': { defaultCommand: `sleep 1; node "${DEMO_AGENT}" "$CONVEYOR_ROLE"` } },
      },
    });
    const survivor = s.host('fault-survivor');
    const victim = s.host('fault-victim');
    // The victim runs one job at a time, so a kill lands in one agent run.
    fs.writeFileSync(victim.configPath, fs.readFileSync(victim.configPath, 'utf8').replace(/maxConcurrency: 2/, 'maxConcurrency: 1'));
    await survivor.start();
    await victim.start();
    for (let i = 0; i < TASKS; i++) await fileLocalTask(s, `Feature ${i + 1}`);
    const { knex } = await s.db();
    const runningOn = async (host: string): Promise<JobRow[]> => (await knex('jobs').where({ status: 'running', host_id: host }).select('id', 'status', 'host_id', 'attempt')) as JobRow[];

    // An agent of the victim mid-run: its job claimed, its pid stamped, no exit yet.
    // Killing there (not while it finishes a job or records CI) tests this take-over,
    // not the finish → advance windows that other guards close.
    const agentMidRun = async (): Promise<JobRow | null> => {
      for (const j of (await knex('jobs').where({ status: 'running', host_id: 'fault-victim', kind: 'agent' }).whereNotNull('pid').select('id', 'status', 'host_id', 'attempt')) as JobRow[]) {
        const run = (await knex('agent_runs').where({ job_id: j.id, attempt: j.attempt }).first()) as { finished_at: unknown } | undefined;
        if (run && run.finished_at === null) return j;
      }
      return null;
    };
    let kills = 0;
    while (kills < KILLS && !(await allDone(s, TASKS))) {
      // Seeded: the victim dies in this agent run, or in a later one.
      const skip = random.int(0, 1);
      let seen: JobRow | 'all done' | null = null;
      for (let i = 0; i <= skip && seen !== 'all done'; i++) {
        const prev = seen as JobRow | null;
        seen = await s.until(async (): Promise<JobRow | 'all done' | null> => {
          await approveWaitingLocalTasks(s);
          if (await allDone(s, TASKS)) return 'all done' as const;
          const j = await agentMidRun();
          return j && (!prev || j.id !== prev.id || j.attempt !== prev.attempt) ? j : null;
        }, 90_000, 'an agent of the victim mid-run', 50).catch(async (err: Error) => {
          throw new Error(`after ${kills} kill(s):\n${await describe(knex)}\n${err.message}`);
        });
      }
      // The work ran out first: the kills so far are checked below.
      if (seen === 'all done') break;
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
    assert.ok(kills >= 2, `the victim was killed ${kills} times, not repeatedly (seed ${random.seed})`);

    await s.until(async () => (await approveWaitingLocalTasks(s)) >= 0 && (await allDone(s, TASKS)), 120_000, 'every task done').catch(async (err: Error) => {
      throw new Error(`${await describe(knex)}\n${err.message}`);
    });
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
