import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMigrations } from '../src/persistence/migration.js';
import { coreMigrations } from '../src/persistence/migrations/core-0001-init.js';
import { rawRows } from '../src/persistence/database.js';
import { createTestConveyor, testDatabases } from '../src/testing/index.js';
import type { Migration } from '../src/persistence/migration.js';
import { definePlugin } from '../src/plugin/define-plugin.js';

for (const dialect of testDatabases({ bothSqliteDrivers: true })) {
  const t0 = `[${dialect}]`;

  test(`${t0} migrations are idempotent and plugin migrations run once`, async (t) => {
    let ran = 0;
    const pluginMigration: Migration = {
      name: 'notes/0001_notes',
      async up(knex) {
        ran++;
        await knex.schema.createTable('notes', (tb) => tb.increments('id'));
      },
    };
    const notes = definePlugin({ name: 'notes', migrations: [pluginMigration], register() {} });
    const kit = await createTestConveyor({ dialect, plugins: [notes] });
    t.after(() => kit.cleanup());
    const db = kit.conveyor.db;
    assert.deepEqual(await runMigrations(db.knex, db.dialect, [...coreMigrations, pluginMigration]), []);
    assert.equal(ran, 1);
    assert.ok(await db.knex.schema.hasTable('notes'));
    // Disabling the plugin later leaves its migrations out of the list; that is not an error.
    assert.deepEqual(await runMigrations(db.knex, db.dialect, coreMigrations), []);
  });

  if (dialect !== 'pg') {
    test(`${t0} SQLite runs with WAL, busy_timeout and foreign keys on`, async (t) => {
      const kit = await createTestConveyor({ dialect });
      t.after(() => kit.cleanup());
      const k = kit.conveyor.db.knex;
      const one = async (sql: string) => Object.values(rawRows(kit.conveyor.db, await k.raw(sql))[0]!)[0];
      assert.equal(await one('PRAGMA journal_mode'), 'wal');
      assert.equal(Number(await one('PRAGMA foreign_keys')), 1);
      assert.equal(Number(await one('PRAGMA busy_timeout')), 5000);
      assert.equal(kit.conveyor.db.driver, dialect === 'sqlite' ? 'better-sqlite3' : 'sqlite3');
    });
  }

  test(`${t0} 20 concurrent creations of the same issue make one task and one job`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const results = await Promise.all(
      Array.from({ length: 20 }, () => kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'ISSUE-1', title: 'Race me' })),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.task.id)).size, 1);
    const tasks = await kit.conveyor.store.tasks.list();
    assert.equal(tasks.length, 1);
    const jobs = await kit.conveyor.store.jobs.listForTask(tasks[0]!.id);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.role, 'analyst');
    assert.equal(kit.events.of('task.created').length, 1);
  });

  test(`${t0} an issue whose task ended can start a fresh task; a live one cannot`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const first = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'PL-9', title: 'Again' });
    assert.equal((await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'PL-9', title: 'Again' })).created, false);
    await kit.conveyor.db.knex('tasks').where({ id: first.task.id }).update({ stage: 'done' });
    await kit.conveyor.db.knex('jobs').where({ task_id: first.task.id }).update({ status: 'done' });
    const second = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'PL-9', title: 'Again' });
    assert.equal(second.created, true);
    assert.notEqual(second.task.id, first.task.id);
    assert.equal(second.task.workItemId, 'ET-002');
    assert.equal((await kit.conveyor.store.tasks.findByIssue('r', 'PL-9'))!.id, second.task.id, 'the live task is the one found');
  });

  test(`${t0} concurrent creations of different issues get distinct work item ids and branches`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: `I-${i}`, title: 'Same title' })),
    );
    const ids = results.map((r) => r.task.workItemId).sort();
    assert.deepEqual(ids, Array.from({ length: 12 }, (_, i) => `ET-${String(i + 1).padStart(3, '0')}`));
    assert.equal(new Set(results.map((r) => r.task.branch)).size, 12);
  });

  test(`${t0} work item ids count per (repo, prefix), derive from the tracker sequence and walk forward`, async (t) => {
    const kit = await createTestConveyor({ dialect, config: { repos: { 'acme/orch': { workItemPrefix: 'ORCH' } } } });
    t.after(() => kit.cleanup());
    const create = (repo: string, id: string, extra: object = {}) =>
      kit.conveyor.intake.startPipeline({ repo, trackerIssueId: id, title: `t ${id}`, ...extra }).then((r) => r.task.workItemId);
    assert.equal(await create('acme/app', 'a1'), 'ET-001');
    assert.equal(await create('acme/orch', 'o1'), 'ORCH-001');
    assert.equal(await create('acme/app', 'a2'), 'ET-002');
    assert.equal(await create('acme/other', 'x1'), 'ET-001', 'another repo counts on its own');
    assert.equal(await create('acme/app', 'a3', { trackerSequence: 6 }), 'ET-006');
    // The tracker derives 6 again (it happened: two issues got ET-006): walk forward.
    assert.equal(await create('acme/app', 'a4', { trackerSequence: 6 }), 'ET-007');
    assert.equal(await create('acme/app', 'a5'), 'ET-008', 'the counter continues past derived ids');
    assert.equal(await create('acme/app', 'a6', { prefix: 'OPS' }), 'OPS-001');
  });

  test(`${t0} a branch owned by another task is disambiguated with work item and tracker ids`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const first = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'a', title: 'Fix login' });
    assert.equal(first.task.branch, 'et-001-fix-login');
    // A tombstoned or imported task can own the branch the next id would derive.
    await kit.conveyor.db.knex('tasks').insert({
      repo: 'r', tracker_issue_id: 'legacy', work_item_id: 'LEGACY-1', title: '', description: '', stage: 'done',
      branch: 'et-002-fix-login', branch_cut: true, developer_retries: 0, created_at: 0, updated_at: 0,
    });
    const second = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'B-77', title: 'Fix login' });
    assert.equal(second.task.workItemId, 'ET-002');
    assert.equal(second.task.branch, 'et-002-fix-login-b77');
  });

  test(`${t0} bad task input is refused and writes nothing`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    await assert.rejects(kit.conveyor.intake.startPipeline({ repo: '', trackerIssueId: 'x', title: '' }), /repo must be a non-empty string; title must be/);
    await assert.rejects(kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: 'x', title: 't', trackerSequence: -1 }), /trackerSequence/);
    assert.equal((await kit.conveyor.store.tasks.list()).length, 0);
    assert.equal(Number(rawRows<{ n: number }>(kit.conveyor.db, await kit.conveyor.db.knex.raw('select count(*) as n from work_item_sequences'))[0]!.n), 0);
  });

  test(`${t0} at most one active job per task, enforced by the database`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 't' });
    const jobs = kit.conveyor.store.jobs;
    assert.equal(await jobs.enqueue({ taskId: task.id, stage: 'analysis', kind: 'agent', role: 'analyst' }), null);
    await assert.rejects(
      kit.conveyor.db.knex('jobs').insert({ task_id: task.id, stage: 'analysis', kind: 'agent', status: 'running', available_at: 0, created_at: 0 }),
      'a second active row is rejected by the unique partial index itself',
    );
    const active = (await jobs.activeForTask(task.id))!;
    const claimed = (await jobs.claim({ hostId: 'h', clauses: [] }))!;
    assert.equal(claimed.id, active.id);
    assert.ok(await jobs.finish(claimed.id, claimed.attempt, 'done'));
    assert.ok(await jobs.enqueue({ taskId: task.id, stage: 'analysis', kind: 'agent', role: 'analyst' }), 'a finished job frees the slot');
  });

  test(`${t0} the inbox recognises a repeated delivery`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const inbox = kit.conveyor.store.inbox;
    const a = await inbox.record({ source: 'plane', deliveryKey: 'k1', payload: '{}' });
    const b = await inbox.record({ source: 'plane', deliveryKey: 'k1', payload: '{}' });
    const c = await inbox.record({ source: 'gitea', deliveryKey: 'k1', payload: '{}' });
    assert.equal(a.duplicate, false);
    assert.deepEqual(b, { id: a.id, duplicate: true });
    assert.equal(c.duplicate, false);
    assert.deepEqual((await inbox.unprocessed(10)).map((r) => r.id), [a.id, c.id]);
    await inbox.markProcessed(a.id, 'processed');
    assert.deepEqual((await inbox.unprocessed(10)).map((r) => r.id), [c.id]);
  });

  test(`${t0} the merge lease is atomic, re-entrant for its holder and released only by it`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const leases = kit.conveyor.store.leases;
    const attempts = await Promise.all([1, 2, 3, 4].map((taskId) => leases.acquire('r', { taskId, hostId: 'h', pid: 1 }, 60_000)));
    assert.equal(attempts.filter(Boolean).length, 1);
    const holder = (await leases.get('r'))!;
    assert.ok(await leases.acquire('r', { taskId: holder.taskId, hostId: 'h', pid: 2 }, 60_000), 're-entrant');
    const other = holder.taskId === 1 ? 2 : 1;
    assert.equal(await leases.release('r', other), false, 'never release someone else\'s lease');
    assert.ok(await leases.get('r'));
    const current = (await leases.get('r'))!;
    assert.equal(await leases.reclaim({ ...current, pid: 999 }), false, 'reclaim only the exact lease seen');
    assert.ok(await leases.reclaim(current));
    assert.equal(await leases.get('r'), null);
  });

  test(`${t0} an expired merge lease is taken over by exactly one of several racers; a live one is not`, async (t) => {
    let now = 1_000_000;
    const kit = await createTestConveyor({ dialect, clock: { now: () => now } });
    t.after(() => kit.cleanup());
    const leases = kit.conveyor.store.leases;
    assert.ok(await leases.acquire('r', { taskId: 1, hostId: 'dead-host', pid: 7 }, 60_000));
    now += 59_999;
    assert.equal(await leases.acquire('r', { taskId: 2, hostId: 'h', pid: 1 }, 60_000), false, 'still live');
    now += 1;
    const wins = await Promise.all([2, 3, 4, 5].map((taskId) => leases.acquire('r', { taskId, hostId: `h${taskId}`, pid: taskId }, 60_000)));
    assert.equal(wins.filter(Boolean).length, 1, 'one takeover');
    const lease = (await leases.get('r'))!;
    assert.equal(lease.taskId, [2, 3, 4, 5][wins.indexOf(true)]);
    assert.equal(lease.expiresAt.getTime(), now + 60_000);
    assert.equal(await leases.release('r', 1), false, 'the expired holder cannot release the new lease');
  });

  test(`${t0} CI statuses keep the latest state per context`, async (t) => {
    const kit = await createTestConveyor({ dialect });
    t.after(() => kit.cleanup());
    const ci = kit.conveyor.store.ciStatuses;
    await ci.record({ repo: 'r', sha: 's1', branch: 'b', context: 'build', state: 'pending', targetUrl: null });
    await ci.record({ repo: 'r', sha: 's1', branch: null, context: 'build', state: 'success', targetUrl: 'http://ci/1' });
    await ci.record({ repo: 'r', sha: 's1', branch: 'b', context: 'lint', state: 'failure', targetUrl: null });
    const rows = await ci.forSha('r', 's1');
    assert.deepEqual(rows.map((r) => [r.context, r.state, r.branch]), [['build', 'success', 'b'], ['lint', 'failure', 'b']]);
    // Out of order: the forge's older "pending" arrives after its newer "failure".
    await ci.record({ repo: 'r', sha: 's2', branch: 'b', context: 'build', state: 'failure', targetUrl: null, updatedAt: new Date(2_000) });
    await ci.record({ repo: 'r', sha: 's2', branch: 'b', context: 'build', state: 'pending', targetUrl: null, updatedAt: new Date(1_000) });
    assert.equal((await ci.forSha('r', 's2'))[0]!.state, 'failure');
    await ci.record({ repo: 'r', sha: 's2', branch: 'b', context: 'build', state: 'success', targetUrl: null, updatedAt: new Date(3_000) });
    assert.equal((await ci.forSha('r', 's2'))[0]!.state, 'success');
  });
}
