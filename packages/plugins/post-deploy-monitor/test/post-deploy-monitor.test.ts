import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Task } from '@conveyor/core';
import { ManualClock, createTestConveyor, eventually, taskAtStage, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { deployStatusGuardPlugin } from '@conveyor/plugin-deploy-status-guard';
import { WindowStore, postDeployMonitorPlugin } from '../src/index.js';
import { healthServer, type HealthServer } from './health-server.js';

const INTERVAL = 60_000;
const WINDOW = 10 * INTERVAL;

interface Options {
  dialect: TestDialect;
  clock: ManualClock;
  monitor?: Record<string, unknown>;
  database?: Record<string, unknown>;
}

function kitWith(o: Options): Promise<TestConveyor> {
  return createTestConveyor({
    dialect: o.dialect,
    clock: o.clock,
    plugins: [deployStatusGuardPlugin, postDeployMonitorPlugin],
    config: {
      repos: { a: {}, b: {} },
      // The loop looks often; the windows' own times follow the manual clock.
      plugins: { 'post-deploy-monitor': { windowMs: WINDOW, intervalMs: INTERVAL, failuresToDegrade: 3, checkTimeoutMs: 2_000, ...o.monitor } },
      ...(o.database ? { database: o.database } : {}),
    },
  });
}


const statusesOf = (kit: TestConveyor, issue: string) => kit.tracker.statuses.filter((s) => s.ref.trackerIssueId === issue).map((s) => s.status);
const windowOf = (kit: TestConveyor, task: Task) => new WindowStore(kit.conveyor.db.knex).get(task.id);

/** The task's deploy succeeded: `deploy → done`, as the stage engine announces it. */
async function deployed(kit: TestConveyor, repo: string, issue: string): Promise<Task> {
  const task = await taskAtStage(kit, repo, issue, 'deploy');
  assert.ok(await kit.conveyor.engine.completeByMerge(task.id, 'deploy', 'deployed (test)'));
  // The tracker hears of done once the window is armed (or found unwanted).
  await eventually(() => statusesOf(kit, issue).length > 0, 5_000, 'the tracker update after done');
  return task;
}

/** Moves the clock one interval on and waits until the window has seen one more check (or closed). */
async function nextCheck(kit: TestConveyor, clock: ManualClock, task: Task): Promise<void> {
  const before = (await windowOf(kit, task))!;
  clock.advance(INTERVAL);
  await eventually(async () => {
    const w = (await windowOf(kit, task))!;
    return w.checks > before.checks || w.status !== 'active';
  }, 10_000, 'the next check');
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} armed before the tracker hears of done: Monitoring after Deploy, healthy checks, Done at the window's end`, async (t) => {
    const server = await healthServer(200);
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { url: server.url } }, intervalMs: 20 } });
    t.after(async () => {
      await kit.cleanup();
      await server.close();
    });
    await kit.conveyor.start();
    const task = await deployed(kit, 'a', 'h1');
    assert.deepEqual(statusesOf(kit, 'h1'), ['Monitoring after Deploy'], 'the window was open when the tracker was told: the guard allowed it');
    const armed = (await windowOf(kit, task))!;
    assert.equal(armed.status, 'active');
    assert.equal(armed.endsAt.getTime() - armed.armedAt.getTime(), WINDOW);
    const decision = kit.logger.lines.find((l) => l.msg === 'deploy status decision')!;
    assert.deepEqual([decision.obj.target, decision.obj.stage, decision.obj.windowActive, decision.obj.verdict], ['Monitoring after Deploy', 'done', true, 'ALLOW']);

    await nextCheck(kit, clock, task);
    await nextCheck(kit, clock, task);
    assert.equal(server.hits, 2);
    const block = (await kit.conveyor.snapshot()).plugins['post-deploy-monitor'] as { watched: string[]; open: { taskId: number; checks: number; failures: number }[] };
    assert.deepEqual(block.watched, ['a']);
    assert.deepEqual(block.open.map((w) => [w.taskId, w.checks, w.failures]), [[task.id, 2, 0]]);

    clock.advance(WINDOW);
    await eventually(async () => (await windowOf(kit, task))!.status === 'healthy', 10_000, 'the window to end');
    await eventually(() => statusesOf(kit, 'h1').at(-1) === 'Done', 5_000, 'Done');
    assert.deepEqual(statusesOf(kit, 'h1'), ['Monitoring after Deploy', 'Done']);
    assert.equal(kit.events.of('deploy.degraded').length, 0);
    // A late deploy-phase write after the window: converged to Done by the guard.
    assert.equal(await kit.conveyor.deployStatus.set(task.id, 'monitoring', { caller: 'late', reason: 'after the window (test)' }), 'CONVERGE_DONE');
  });

  test(`${t0} failuresToDegrade failures in a row report deploy.degraded once, alert and comment; a healthy check resets the count`, async (t) => {
    const server = await healthServer(503);
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { url: server.url } }, intervalMs: 20 } });
    t.after(async () => {
      await kit.cleanup();
      await server.close();
    });
    await kit.conveyor.start();
    const task = await deployed(kit, 'a', 'd1');
    await nextCheck(kit, clock, task);
    await nextCheck(kit, clock, task);
    assert.equal((await windowOf(kit, task))!.failures, 2);
    server.status = 200;
    await nextCheck(kit, clock, task);
    assert.equal((await windowOf(kit, task))!.failures, 0, 'a healthy check resets the count');
    server.status = 503;
    await nextCheck(kit, clock, task);
    await nextCheck(kit, clock, task);
    assert.equal(kit.events.of('deploy.degraded').length, 0, 'two failures in a row are not three');
    await nextCheck(kit, clock, task);
    // The third failure is recorded, then the window is closed as degraded: wait for the second write.
    const w = (await eventually(async () => {
      const now = (await windowOf(kit, task))!;
      return now.status !== 'active' ? now : null;
    }, 10_000, 'the window closed'))!;
    assert.deepEqual([w.status, w.failures, w.checks, w.lastError], ['degraded', 3, 6, 'HTTP 503']);
    const degraded = await kit.events.waitFor('deploy.degraded');
    assert.deepEqual(degraded, { taskId: task.id, repo: 'a', reason: `health check failed 3 times in a row after the deploy of ${task.workItemId} (last: HTTP 503)` });
    await eventually(() => statusesOf(kit, 'd1').at(-1) === 'Done', 5_000, 'Done');
    assert.equal(kit.notifier.sent.filter((n) => n.kind === 'alert').length, 1);
    assert.match(kit.notifier.sent.find((n) => n.kind === 'alert')!.text, /deploy degraded — health check failed 3 times/);
    assert.ok(kit.tracker.comments.some((c) => c.ref.trackerIssueId === 'd1' && /the deploy of .* is degraded/.test(c.body)));
    // The window is closed: it is never due again.
    clock.advance(INTERVAL * 3);
    assert.deepEqual(await new WindowStore(kit.conveyor.db.knex).due(clock.now()), []);
    assert.equal(kit.events.of('deploy.degraded').length, 1);
  });

  test(`${t0} enough failures recorded but the window left open (a crash between the two writes): the next visit reports degraded without another check`, async (t) => {
    const server = await healthServer(200);
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { url: server.url } }, intervalMs: 20 } });
    t.after(async () => {
      await kit.cleanup();
      await server.close();
    });
    await kit.conveyor.start();
    const task = await deployed(kit, 'a', 'c1');
    await kit.conveyor.db.knex('post_deploy_windows').where({ task_id: task.id }).update({ failures: 3, last_error: 'HTTP 502' });
    await nextCheck(kit, clock, task);
    const w = (await windowOf(kit, task))!;
    assert.deepEqual([w.status, w.failures], ['degraded', 3]);
    assert.equal(server.hits, 0, 'no check could reset the count first');
    assert.match((await kit.events.waitFor('deploy.degraded')).reason, /last: HTTP 502/);
  });

  test(`${t0} a tick for a task cancelled during its window does nothing: no check, no status, no event`, async (t) => {
    const server = await healthServer(503);
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { url: server.url } }, intervalMs: 20 } });
    t.after(async () => {
      await kit.cleanup();
      await server.close();
    });
    await kit.conveyor.start();
    const task = await deployed(kit, 'a', 'x1');
    await nextCheck(kit, clock, task);
    await kit.conveyor.db.knex('tasks').where({ id: task.id }).update({ stage: 'cancelled' });
    const before = { statuses: kit.tracker.statuses.length, comments: kit.tracker.comments.length, hits: server.hits };
    clock.advance(WINDOW);
    await eventually(async () => (await windowOf(kit, task))!.status === 'cancelled', 10_000, 'the window to close');
    const w = (await windowOf(kit, task))!;
    assert.equal(w.checks, 1);
    assert.deepEqual({ statuses: kit.tracker.statuses.length, comments: kit.tracker.comments.length, hits: server.hits }, before);
    assert.equal(kit.events.of('deploy.degraded').length, 0);
    assert.equal(await kit.conveyor.deployStatus.set(task.id, 'monitoring', { caller: 'late', reason: 'cancelled (test)' }), 'SUPPRESS');
  });

  test(`${t0} one window that cannot be visited does not stop the others; it is visited again next tick`, async (t) => {
    const server = await healthServer(200);
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { url: server.url } }, intervalMs: 20 } });
    t.after(async () => {
      await kit.cleanup();
      await server.close();
    });
    await kit.conveyor.start();
    const poisoned = await deployed(kit, 'a', 'p1');
    const healthy = await deployed(kit, 'a', 'p2');
    const tasks = kit.conveyor.store.tasks;
    const get = tasks.get.bind(tasks);
    tasks.get = async (id) => {
      if (id === poisoned.id) throw new Error('row unreadable (test)');
      return get(id);
    };
    await nextCheck(kit, clock, healthy);
    assert.equal((await windowOf(kit, poisoned))!.checks, 0);
    assert.ok(kit.logger.lines.some((l) => l.msg === 'post-deploy window visit failed; tried again next tick' && l.obj.taskId === poisoned.id));
    tasks.get = get;
    await nextCheck(kit, clock, poisoned);
    assert.equal((await windowOf(kit, poisoned))!.status, 'active');
  });

  test(`${t0} the window survives a restart: the next instance goes on counting where the first stopped`, async (t) => {
    const server = await healthServer(503);
    const clock = new ManualClock();
    const monitor = { checks: { a: { url: server.url } }, intervalMs: 20 };
    const first = await kitWith({ dialect, clock, monitor });
    let second: TestConveyor | null = null;
    t.after(async () => {
      await second?.cleanup();
      await first.cleanup();
      await server.close();
    });
    await first.conveyor.start();
    const task = await deployed(first, 'a', 'r1');
    await nextCheck(first, clock, task);
    await nextCheck(first, clock, task);
    await first.conveyor.stop();

    const db = first.conveyor.config.database;
    second = await kitWith({ dialect, clock, monitor, database: db.client === 'pg' ? { schema: db.schema } : { filename: db.filename } });
    const stored = (await windowOf(second, task))!;
    assert.deepEqual([stored.status, stored.failures, stored.checks], ['active', 2, 2], 'the count is in the table, not in memory');
    await second.conveyor.start();
    await nextCheck(second, clock, task);
    await second.events.waitFor('deploy.degraded', (p) => p.taskId === task.id);
    assert.equal(server.hits, 3);
    assert.equal((await windowOf(second, task))!.status, 'degraded');
  });

  test(`${t0} a repo without a health check, or the plugin disabled: no window, the tracker goes straight to Done`, async (t) => {
    const clock = new ManualClock();
    const kit = await kitWith({ dialect, clock, monitor: { checks: { a: { command: 'exit 0' } } } });
    t.after(() => kit.cleanup());
    await deployed(kit, 'b', 'n1');
    assert.deepEqual(statusesOf(kit, 'n1'), ['Done']);

    const off = await createTestConveyor({ dialect, plugins: [postDeployMonitorPlugin], config: { repos: { a: {} }, plugins: { 'post-deploy-monitor': { enabled: false, checks: { a: { command: 'exit 0' } } } } } });
    t.after(() => off.cleanup());
    await deployed(off, 'a', 'n2');
    assert.deepEqual(statusesOf(off, 'n2'), ['Done']);
    assert.equal(await off.conveyor.db.knex.schema.hasTable('post_deploy_windows'), false, 'a disabled plugin creates no table');
    assert.equal(off.conveyor.extensions.daemons.length, 0);
  });

  test(`${t0} a health check with both or neither of url and command is refused at start, naming the repo`, async () => {
    await assert.rejects(
      createTestConveyor({ dialect, plugins: [postDeployMonitorPlugin], config: { plugins: { 'post-deploy-monitor': { checks: { a: { url: 'http://127.0.0.1:1/h', command: 'true' }, b: {} } } } } }),
      (err: Error) => {
        assert.match(err.message, /plugin "post-deploy-monitor" failed to register: plugins\.post-deploy-monitor\.checks\.a: give exactly one of "url" or "command" \(found both\); plugins\.post-deploy-monitor\.checks\.b: .*\(found neither\)/);
        return true;
      },
    );
  });
}
