import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens, definePlugin, type OwnedRoute, type PluginContext, type RouteRequest, type TrackerPort, type TrackerRef } from '@conveyor/core';
import { createTestConveyor, eventually, testDatabases, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import { taskDepsPlugin } from '../src/index.js';

const req = (over: Partial<RouteRequest>): RouteRequest => ({ params: {}, query: {}, headers: {}, body: undefined, ...over });
const route = (routes: readonly OwnedRoute[], method: string, url: string) => routes.find((r) => r.method === method && r.url === url)!;
const claim = (kit: TestConveyor) => kit.conveyor.store.jobs.claim({ hostId: 'h', clauses: kit.conveyor.clauses.list() });
const start = (kit: TestConveyor, id: string, repo = 'r') => kit.conveyor.intake.startPipeline({ repo, trackerIssueId: id, title: `task ${id}` });

function kitWith(dialect: TestDialect, pluginConfig: Record<string, unknown> = {}, extra: ReturnType<typeof definePlugin>[] = []): Promise<TestConveyor> {
  return createTestConveyor({ dialect, plugins: [taskDepsPlugin, ...extra], config: { repos: { r: {} }, plugins: { 'task-deps': pluginConfig } } });
}

/** Stands in for the reconciler (not built yet): it keeps what its context hands over. */
function probeReconciler(): { plugin: ReturnType<typeof definePlugin>; waiting: () => PluginContext['waiting'] } {
  let waiting: PluginContext['waiting'] | null = null;
  const plugin = definePlugin({ name: 'probe-reconciler', register: (ctx) => void (waiting = ctx.waiting) });
  return { plugin, waiting: () => waiting! };
}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} a task waits until its dependency has ended; it says so, and the reconciler's predicate sees it`, async (t) => {
    const reconciler = probeReconciler();
    const kit = await kitWith(dialect, {}, [reconciler.plugin]);
    t.after(() => kit.cleanup());
    const { task: a } = await start(kit, 'a');
    const { task: b } = await start(kit, 'b');
    const post = route(kit.conveyor.routes, 'POST', '/tasks/:id/deps');
    assert.equal(post.auth, 'token');
    // a depends on b: a's older job is held, b's is claimed.
    const res = await post.handler(req({ params: { id: a.id }, body: { dependsOn: b.id } }));
    assert.equal(res.status, 201);
    assert.equal((await post.handler(req({ params: { id: a.id }, body: { dependsOn: b.id } }))).status, 200, 'declaring twice is a no-op');

    // What a reconciler asks through its plugin context before touching a task.
    const held = await reconciler.waiting().heldBackBy(a);
    assert.deepEqual(held.map((r) => [r.kind, r.source]), [['dependency', 'task-deps']]);
    assert.deepEqual(await reconciler.waiting().heldBackBy(b), [], 'b waits on nothing: a reconciler may act on it');
    const w = await kit.conveyor.waiting.forTask(a);
    assert.equal(w.kind, 'held');
    assert.equal(w.sentence, `Waits for its dependency to finish: task ${b.id} (${b.workItemId}, at analysis); remove one with \`conveyor task deps ${a.id} --remove <id>\`.`);

    const first = await claim(kit);
    assert.equal(first!.taskId, b.id);
    assert.equal(await claim(kit), null, 'a is held while b is live');
    const block = (await kit.conveyor.snapshot()).plugins['task-deps'] as { waiting: { line: string }[] };
    assert.deepEqual(block.waiting.map((x) => x.line), [`${a.workItemId} waits for ${b.workItemId} (analysis)`]);

    await kit.conveyor.store.jobs.finish(first!.id, first!.attempt, 'done');
    await kit.conveyor.engine.completeByMerge(b.id, 'analysis', 'merged');
    assert.equal((await claim(kit))!.taskId, a.id, 'b ended: a runs');
    assert.deepEqual(await kit.conveyor.waiting.heldBackBy(a), []);
  });

  test(`${t0} DELETE /tasks/:id/deps/:dep releases the task; bad input is a clear error and changes nothing`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const { task: a } = await start(kit, 'a');
    const { task: b } = await start(kit, 'b');
    const post = route(kit.conveyor.routes, 'POST', '/tasks/:id/deps');
    const del = route(kit.conveyor.routes, 'DELETE', '/tasks/:id/deps/:dep');
    const get = route(kit.conveyor.routes, 'GET', '/tasks/:id/deps');
    assert.equal((await post.handler(req({ params: { id: b.id }, body: { dependsOn: 999 } }))).status, 404);
    assert.equal((await post.handler(req({ params: { id: 999 }, body: { dependsOn: a.id } }))).status, 404);
    const self = await post.handler(req({ params: { id: a.id }, body: { dependsOn: a.id } }));
    assert.equal(self.status, 409);
    assert.equal(Number((await kit.conveyor.db.knex('task_deps').count({ n: '*' }))[0]!.n), 0, 'nothing written');

    await post.handler(req({ params: { id: b.id }, body: { dependsOn: a.id } }));
    const listed = (await get.handler(req({ params: { id: b.id } }))).body as { dependencies: { dependsOn: number; stage: string; source: string }[] };
    assert.deepEqual(listed.dependencies.map((d) => [d.dependsOn, d.stage, d.source]), [[a.id, 'analysis', 'api']]);
    assert.equal((await del.handler(req({ params: { id: b.id, dep: a.id } }))).status, 200);
    assert.equal((await del.handler(req({ params: { id: b.id, dep: a.id } }))).status, 404, 'already removed');
    assert.deepEqual(await kit.conveyor.waiting.heldBackBy(b), []);
  });

  test(`${t0} a declaration that would close a cycle is a 409 naming the cycle, and changes nothing`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (id) => (await start(kit, id)).task));
    const post = route(kit.conveyor.routes, 'POST', '/tasks/:id/deps');
    await post.handler(req({ params: { id: a!.id }, body: { dependsOn: b!.id } }));
    await post.handler(req({ params: { id: b!.id }, body: { dependsOn: c!.id } }));
    const res = await post.handler(req({ params: { id: c!.id }, body: { dependsOn: a!.id } }));
    assert.equal(res.status, 409);
    const body = res.body as { error: string; message: string; cycle: { id: number }[] };
    assert.equal(body.error, 'dependency_cycle');
    assert.equal(body.message, `task ${c!.workItemId} cannot depend on ${a!.workItemId}: that would close the cycle ${c!.workItemId} → ${a!.workItemId} → ${b!.workItemId} → ${c!.workItemId}`);
    assert.deepEqual(body.cycle.map((x) => x.id), [c!.id, a!.id, b!.id, c!.id]);
    assert.equal(Number((await kit.conveyor.db.knex('task_deps').count({ n: '*' }))[0]!.n), 2, 'the closing edge was not stored');
  });

  test(`${t0} declarations racing in opposite directions never store a cycle`, async (t) => {
    const kit = await kitWith(dialect);
    t.after(() => kit.cleanup());
    const post = route(kit.conveyor.routes, 'POST', '/tasks/:id/deps');
    for (let round = 0; round < 10; round++) {
      const { task: a } = await start(kit, `ra${round}`);
      const { task: b } = await start(kit, `rb${round}`);
      const [x, y] = await Promise.all([
        post.handler(req({ params: { id: a.id }, body: { dependsOn: b.id } })),
        post.handler(req({ params: { id: b.id }, body: { dependsOn: a.id } })),
      ]);
      assert.ok([x.status, y.status].includes(409), `round ${round}: one of them is refused (${x.status}, ${y.status})`);
      const edges = await kit.conveyor.db.knex('task_deps').whereIn('task_id', [a.id, b.id]);
      assert.ok(edges.length <= 1, `round ${round}: no cycle stored`);
    }
  });

  test(`${t0} tracker "blocked by" relations are ingested on intake; a cycle there blocks its tasks, named, with an alert`, async (t) => {
    const kit = await kitWith(dialect, { ingestTrackerRelations: true });
    t.after(() => kit.cleanup());
    const relations: Record<string, string[]> = { b: ['a'], a: [] };
    const tracker: TrackerPort = { name: 'rel', setStatus: async () => {}, addComment: async () => {}, blockedBy: async (ref: TrackerRef) => relations[ref.trackerIssueId] ?? [] };
    kit.conveyor.container.register(CoreTokens.Tracker, { useValue: tracker });
    const { task: a } = await start(kit, 'a');
    const { task: b } = await start(kit, 'b');
    await eventually(async () => (await kit.conveyor.waiting.heldBackBy(b)).length === 1, 5_000, 'b depends on a');
    const row = await kit.conveyor.db.knex('task_deps').where({ task_id: b.id }).first();
    assert.equal(row.source, 'tracker');

    // c is created before its relation exists; then the tracker says b is blocked by c
    // (stored, as a relation read for b would) and c by b: a cycle the tracker holds.
    const { task: c } = await start(kit, 'c');
    await kit.conveyor.db.knex('task_deps').insert({ task_id: b.id, depends_on: c.id, source: 'tracker', created_at: 0 });
    relations.c = ['b'];
    kit.conveyor.events.emit('task.created', { task: c });
    const blocked = await kit.events.waitFor('task.blocked', (p) => p.task.id === c.id || p.task.id === b.id);
    assert.match(blocked.reason, new RegExp(`dependency cycle ${c.workItemId} → ${b.workItemId} → ${c.workItemId}: fix the "blocked by" relations in the tracker`));
    await eventually(() => kit.notifier.sent.some((n) => n.kind === 'alert' && /task-deps: dependency cycle/.test(n.text)), 5_000, 'the alert');
    assert.ok((await kit.conveyor.store.tasks.get(c.id))!.blockedReason);
    assert.equal((await kit.conveyor.store.tasks.get(a.id))!.blockedReason, null, 'a is not in the cycle');
  });

  test(`${t0} disabled, the queue behaves exactly as without the plugin`, async (t) => {
    const off = await createTestConveyor({ dialect, plugins: [taskDepsPlugin], config: { repos: { r: {} }, plugins: { 'task-deps': { enabled: false } } } });
    t.after(() => off.cleanup());
    assert.equal(off.conveyor.clauses.list().length, 0);
    assert.equal(off.conveyor.routes.filter((r) => r.plugin === 'task-deps').length, 0);
    assert.equal(await off.conveyor.db.knex.schema.hasTable('task_deps'), false);
    for (const i of [1, 2]) await start(off, `d${i}`);
    assert.deepEqual([(await claim(off))!.taskId, (await claim(off))!.taskId], [1, 2]);
  });
}
