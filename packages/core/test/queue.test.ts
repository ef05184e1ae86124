import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClaimSql } from '../src/persistence/knex/claim-sql.js';
import { rawRows } from '../src/persistence/database.js';
import type { ClaimClause } from '../src/queue/claim-clause.js';
import { createTestConveyor, ManualClock, RecordingLogger, testDatabases, type TestConveyor } from '../src/testing/index.js';

/** Inserts `n` tasks, each with one queued agent job, in bulk. */
async function seedJobs(kit: TestConveyor, n: number, options: { repo?: (i: number) => string; availableAt?: (i: number) => number } = {}): Promise<void> {
  const k = kit.conveyor.db.knex;
  const chunk = 500;
  for (let start = 0; start < n; start += chunk) {
    const rows = [];
    for (let i = start; i < Math.min(n, start + chunk); i++) {
      rows.push({ repo: options.repo?.(i) ?? 'r', tracker_issue_id: `seed-${i}`, work_item_id: `S-${i}`, title: 't', description: '', stage: 'analysis', branch: `s-${i}`, branch_cut: true, developer_retries: 0, created_at: 0, updated_at: 0 });
    }
    const ids = (await k('tasks').insert(rows).returning('id')) as { id: number }[];
    await k('jobs').insert(ids.map((r, j) => ({ task_id: r.id, stage: 'analysis', kind: 'agent', role: 'analyst', status: 'queued', available_at: options.availableAt?.(start + j) ?? 0, created_at: 0 })));
  }
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} claims the oldest available job by (available_at, id) and honours delays`, async (t) => {
    const clock = new ManualClock(1_000_000);
    const kit = await createTestConveyor({ dialect, clock });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const { task: a } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'a', title: 'a' });
    const { task: b } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'b', title: 'b' });
    const { task: c } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'c', title: 'c' });
    // a's job is pushed into the future; b and c keep their creation order.
    await kit.conveyor.db.knex('jobs').where({ task_id: a.id }).update({ available_at: 1_000_000 + 5_000 });
    assert.equal((await jobs.claim({ hostId: 'h', clauses: [] }))!.taskId, b.id);
    assert.equal((await jobs.claim({ hostId: 'h', clauses: [] }))!.taskId, c.id);
    assert.equal(await jobs.claim({ hostId: 'h', clauses: [] }), null, 'a delayed job is not available yet');
    clock.advance(5_000);
    const claimed = (await jobs.claim({ hostId: 'host-1', clauses: [] }))!;
    assert.equal(claimed.taskId, a.id);
    assert.equal(claimed.status, 'running');
    assert.equal(claimed.attempt, 1);
    assert.equal(claimed.hostId, 'host-1');
    assert.equal(claimed.startedAt!.getTime(), clock.now());
    assert.equal(claimed.heartbeatAt!.getTime(), clock.now());
  });

  test(`${t0} claim clauses run inside the claim: a held-back job is skipped, a later one is claimed`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    await seedJobs(kit, 4, { repo: (i) => (i < 2 ? 'frozen' : 'open') });
    const notFrozen: ClaimClause = { name: 'not-frozen', build: (c) => ({ sql: `${c.task}.repo <> ?`, bindings: ['frozen'] }) };
    const first = (await jobs.claim({ hostId: 'h', clauses: [notFrozen] }))!;
    const second = (await jobs.claim({ hostId: 'h', clauses: [notFrozen] }))!;
    assert.deepEqual([first.id, second.id].sort(), [3, 4]);
    assert.equal(await jobs.claim({ hostId: 'h', clauses: [notFrozen] }), null);
    const counts = await jobs.countByStatus();
    assert.equal(counts.queued, 2, 'held-back jobs stay queued and hold no slot');
    assert.equal(counts.running, 2);
  });

  test(`${t0} a clause that cannot be built fails open (claims without it, logged)`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    await seedJobs(kit, 1);
    const broken: ClaimClause = {
      name: 'broken',
      build: () => {
        throw new Error('cannot read scope');
      },
    };
    assert.ok(await kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: [broken] }));
    assert.ok(kit.logger.lines.some((l) => l.level === 'warn' && l.obj.clause === 'broken'));
  });

  test(`${t0} the claim walks its index: no sort in the plan, even with every clause on`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    await seedJobs(kit, 5_000, { availableAt: (i) => i % 97 });
    const db = kit.conveyor.db;
    const serial: ClaimClause = {
      name: 'serial',
      build: (c) => ({ sql: `NOT EXISTS (SELECT 1 FROM tasks e WHERE e.repo = ${c.task}.repo AND e.id < ${c.task}.id AND e.stage NOT IN ('done', 'cancelled'))`, bindings: [] }),
    };
    const { sql, bindings } = buildClaimSql(db, [serial], { hostId: 'h', now: 50 }, new RecordingLogger());
    const select = sql.slice(sql.indexOf('(SELECT') + 1, sql.lastIndexOf(') AND status'));
    const selectBindings = bindings.slice(3);
    let plan: string;
    if (db.dialect === 'pg') {
      await db.knex.raw('ANALYZE jobs');
      await db.knex.raw('ANALYZE tasks');
      const rows = rawRows<{ 'QUERY PLAN': string }>(db, await db.knex.raw(`EXPLAIN ${select.replace(' FOR UPDATE OF j SKIP LOCKED', '')}`, selectBindings as never));
      plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      if (process.env.SHOW_PLAN) console.log(plan);
      assert.doesNotMatch(plan, /\bSort\b/, plan);
      assert.match(plan, /jobs_claim_order/, plan);
    } else {
      const rows = rawRows<{ detail: string }>(db, await db.knex.raw(`EXPLAIN QUERY PLAN ${select}`, selectBindings as never));
      plan = rows.map((r) => r.detail).join('\n');
      if (process.env.SHOW_PLAN) console.log(plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
      assert.match(plan, /jobs_claim_order/, plan);
    }
  });

  test(`${t0} finishing is fenced by the attempt: a paused worker cannot complete a re-claimed job`, async (t) => {
    const clock = new ManualClock();
    const kit = await createTestConveyor({ dialect, clock });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const finisher = kit.conveyor.container.resolve<import('../src/queue/job-finisher.js').JobFinisher>(Symbol.for('conveyor.JobFinisher'));
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const stale = (await jobs.claim({ hostId: 'paused-host', clauses: [] }))!;
    clock.advance(60_000);
    assert.ok(await jobs.requeueStale(stale.id, stale.attempt, new Date(clock.now() - 30_000)), 'the lease expired: back to queued');
    const fresh = (await jobs.claim({ hostId: 'other-host', clauses: [] }))!;
    assert.equal(fresh.id, stale.id);
    assert.equal(fresh.attempt, stale.attempt + 1);
    // The paused worker wakes up and tries to finish its old attempt.
    assert.deepEqual(await finisher.finish(stale, 'done'), { won: false });
    assert.equal(await jobs.heartbeat(stale.id, stale.attempt), false);
    assert.equal(kit.events.of('job.finished').length, 0);
    assert.equal((await jobs.get(stale.id))!.status, 'running');
    const won = await finisher.finish(fresh, 'done');
    assert.equal(won.won, true);
    assert.equal(kit.events.of('job.finished').length, 1, 'exactly one advance');
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.stage, 'analysis', 'no agent run: agent_succeeded fails, task stays');
  });

  test(`${t0} transient failures retry with backoff until the budget is spent, then fail once`, async (t) => {
    const clock = new ManualClock();
    const kit = await createTestConveyor({ dialect, clock, config: { worker: { retryBudget: 2, backoffBaseMs: 1000, backoffMaxMs: 10_000 } } });
    t.after(() => kit.cleanup());
    const jobs = kit.conveyor.store.jobs;
    const finisher = kit.conveyor.container.resolve<import('../src/queue/job-finisher.js').JobFinisher>(Symbol.for('conveyor.JobFinisher'));
    await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      const job = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
      assert.ok(job, `attempt ${i + 1} is claimable after its backoff`);
      outcomes.push(await finisher.failTransient(job, 'network down'));
      if (i < 2) {
        const requeued = (await jobs.get(job.id))!;
        assert.equal(requeued.status, 'queued');
        assert.equal(requeued.retries, i + 1);
        const delay = requeued.availableAt.getTime() - clock.now();
        const cap = 1000 * 2 ** i;
        assert.ok(delay >= cap / 2 && delay <= cap, `retry ${i + 1} waits within [${cap / 2}, ${cap}] ms, got ${delay}`);
        assert.equal(await jobs.claim({ hostId: 'h', clauses: [] }), null, 'not before its backoff');
      }
    }
    assert.deepEqual(outcomes, ['retried', 'retried', 'exhausted']);
    assert.equal(kit.events.of('job.retry_exhausted').length, 1);
    const all = await jobs.countByStatus();
    assert.equal(all.failed, 1);
  });
}

if (testDatabases().includes('pg')) {
  test('[pg] two workers on separate connections claim 2,000 jobs with zero double claims', async (t) => {
    const kit = await createTestConveyor({ dialect: 'pg' });
    t.after(() => kit.cleanup());
    await seedJobs(kit, 2_000);
    const second = await createTestConveyor({ dialect: 'pg', config: { database: { schema: kit.conveyor.config.database.schema } } });
    t.after(() => second.cleanup());
    const claimedBy = new Map<number, string[]>();
    const drain = async (store: typeof kit.conveyor.store.jobs, host: string) => {
      let n = 0;
      for (;;) {
        const job = await store.claim({ hostId: host, clauses: [] });
        if (!job) return n;
        claimedBy.set(job.id, [...(claimedBy.get(job.id) ?? []), host]);
        assert.ok(await store.finish(job.id, job.attempt, 'done'));
        n++;
      }
    };
    const [a, b] = await Promise.all([
      drain(kit.conveyor.store.jobs, 'host-a'),
      drain(second.conveyor.store.jobs, 'host-b'),
      drain(kit.conveyor.store.jobs, 'host-a2'),
      drain(second.conveyor.store.jobs, 'host-b2'),
    ]);
    assert.equal(claimedBy.size, 2_000);
    assert.ok([...claimedBy.values()].every((hosts) => hosts.length === 1), 'no job was claimed twice');
    assert.ok(a! > 0 && b! > 0, `both instances claimed work (${a}, ${b})`);
    const counts = await kit.conveyor.store.jobs.countByStatus();
    assert.equal(counts.done, 2_000);
  });
}
