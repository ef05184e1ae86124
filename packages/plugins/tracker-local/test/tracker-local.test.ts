import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { armFaultPoint, type OwnedRoute, type RouteRequest } from '@conveyor/core';
import { createTestConveyor, eventually, testDatabases, type TestConveyor } from '@conveyor/core/testing';
import { TrackerLocalTokens, trackerLocalPlugin, type LocalTracker } from '../src/index.js';

const req = (over: Partial<RouteRequest>): RouteRequest => ({ params: {}, query: {}, headers: {}, body: undefined, ...over });
const route = (routes: readonly OwnedRoute[], method: string, url: string) => routes.find((r) => r.method === method && r.url === url)!;

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;

  test(`${t0} POST /tasks files a local issue in "To Analyse" and starts the pipeline for it`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { repos: { 'acme/app': {} }, plugins: { 'tracker-local': { defaultRepo: 'acme/app' } } } });
    t.after(() => kit.cleanup());
    const create = route(kit.conveyor.routes, 'POST', '/tasks');
    assert.equal(create.auth, 'token');
    const res = await create.handler(req({ body: { title: '  Add dark mode ', description: 'Users asked.' } }));
    assert.equal(res.status, 201);
    const body = res.body as { issue: { id: number; status: string }; task: { id: number; workItemId: string; repo: string; trackerIssueId: string } };
    assert.equal(body.issue.status, 'To Analyse');
    assert.equal(body.task.repo, 'acme/app');
    assert.equal(body.task.trackerIssueId, String(body.issue.id));
    assert.equal(body.task.workItemId, `ET-${String(body.issue.id).padStart(3, '0')}`, 'the id derives from the issue number');
    assert.equal((await kit.conveyor.store.jobs.activeForTask(body.task.id))?.role, 'analyst');
    const blank = await create.handler(req({ body: { title: '   ' } }));
    assert.equal(blank.status, 400);
    const unknown = await create.handler(req({ body: { title: 'x', repo: 'no/such-repo' } }));
    assert.equal(unknown.status, 400);
    assert.match((unknown.body as { message: string }).message, /body\/repo "no\/such-repo" is not a configured repository \(known: acme\/app\)/);
    assert.equal((await kit.conveyor.store.tasks.list()).length, 1, 'a blank title or an unknown repo wrote nothing');
    assert.equal(Number((await kit.conveyor.db.knex('local_issues').count({ n: '*' }))[0]!.n), 1);
  });

  test(`${t0} Conveyor's statuses and comments land in the local issue; approve moves the task on`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { repos: { r: {} }, worker: { enabled: true } } });
    t.after(() => kit.cleanup());
    // The fake tracker of the test kit is replaced by the plugin's.
    const tracker = kit.conveyor.container.resolve<LocalTracker>(TrackerLocalTokens.Tracker);
    await kit.conveyor.start();
    const created = await route(kit.conveyor.routes, 'POST', '/tasks').handler(req({ body: { title: 'Fix login', repo: 'r' } }));
    const { task, issue } = created.body as { task: { id: number }; issue: { id: number } };
    await kit.events.waitFor('human.approval_needed');
    await eventually(async () => (await tracker.getIssue(issue.id))!.status === 'In Review', 5_000, 'In Review');
    await eventually(async () => (await tracker.events(issue.id)).filter((e) => e.kind === 'comment').length >= 3, 5_000, 'three comments');
    const approve = await route(kit.conveyor.routes, 'POST', '/tasks/:id/approve').handler(req({ params: { id: String(task.id) }, body: { comment: 'Looks right.' } }));
    assert.equal(approve.status, 202);
    assert.deepEqual((approve.body as { outcome: unknown }).outcome, { kind: 'advanced', from: 'analysis', to: 'architecture' });
    const history = (await route(kit.conveyor.routes, 'GET', '/local-tracker/issues/:id').handler(req({ params: { id: String(issue.id) } }))).body as { status: string; events: { kind: string; body: string }[] };
    assert.equal(history.status, 'Approved');
    assert.deepEqual(history.events.filter((e) => e.kind === 'status').map((e) => e.body.split(' (')[0]), ['To Analyse', 'In Review', 'Approved']);
    const comments = history.events.filter((e) => e.kind === 'comment').map((e) => e.body);
    assert.match(comments[0]!, /the analyst started on ET-/);
    assert.match(comments[1]!, /^Analyst done · /);
    assert.match(comments.at(-1)!, /Looks right\./);
    assert.equal((await route(kit.conveyor.routes, 'POST', '/tasks/:id/approve').handler(req({ params: { id: '999' }, body: {} }))).status, 404);
  });

  test(`${t0} autoApprove approves every analysis as a person would; the reconciler can list issues by status`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { repos: { demo: {} }, worker: { enabled: true }, plugins: { 'tracker-local': { autoApprove: true } } } });
    t.after(() => kit.cleanup());
    const tracker = kit.conveyor.container.resolve<LocalTracker>(TrackerLocalTokens.Tracker);
    await kit.conveyor.start();
    await route(kit.conveyor.routes, 'POST', '/tasks').handler(req({ body: { title: 'A', repo: 'demo' } }));
    await kit.events.waitFor('task.stage_changed', (e) => e.to === 'architecture');
    const approved: string[] = [];
    for await (const i of tracker.listIssuesInStatus('demo', ['Approved'])) approved.push(i.title);
    assert.deepEqual(approved, ['A']);
  });
}

class SimulatedCrash extends Error {}

for (const dialect of testDatabases()) {
  const t0 = `[${dialect}]`;
  const crashAt = (t: TestContext, name: string) => {
    t.after(armFaultPoint(name, { action: () => { throw new SimulatedCrash(name); } }));
  };
  const sameDb = (kit: TestConveyor) => (dialect === 'pg' ? { schema: kit.conveyor.config.database.schema } : { filename: kit.conveyor.config.database.filename });

  test(`${t0} autoApprove answers an open review from stored state: a crash while answering its event leaves nothing waiting for a person`, async (t) => {
    crashAt(t, 'tracker-local.auto-approve');
    const config = { repos: { r: {} }, instance: { hostId: 'box-1' }, plugins: { 'tracker-local': { autoApprove: true, deriveIntervalMs: 20 } } };
    // The first instance's loop ticks once, at start (no task yet): only the listener answers there.
    const first = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { ...config, worker: { enabled: true }, plugins: { 'tracker-local': { autoApprove: true, deriveIntervalMs: 600_000 } } } });
    let second: TestConveyor | null = null;
    t.after(async () => {
      await second?.cleanup();
      await first.cleanup();
    });
    await first.conveyor.start();
    const created = await route(first.conveyor.routes, 'POST', '/tasks').handler(req({ body: { title: 'Fix login', repo: 'r' } }));
    const { task } = created.body as { task: { id: number } };
    await first.events.waitFor('human.approval_needed');
    await eventually(() => first.events.of('listener.error').length === 1, 10_000, 'the listener died at the crash point');
    assert.equal((await first.conveyor.store.tasks.get(task.id))!.humanVerdict, null, 'the window: no verdict');
    await first.conveyor.stop();
    second = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { ...config, database: sameDb(first) } });
    // The analysis is in the branch, which outlives the crash.
    second.artifacts.put((await second.conveyor.store.tasks.get(task.id))!, 'analysis', {});
    await second.conveyor.start();
    await eventually(async () => (await second!.conveyor.store.tasks.get(task.id))!.stage === 'architecture', 10_000, 'approved and moved on');
  });

  test(`${t0} POST /tasks after a crash between the issue and its task: a retry with the same Idempotency-Key, or the start-up pass, makes the one task`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { repos: { r: {} }, plugins: { 'tracker-local': { deriveIntervalMs: 20 } } } });
    t.after(() => kit.cleanup());
    const create = route(kit.conveyor.routes, 'POST', '/tasks');
    const crashing = (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const disarm = armFaultPoint('tracker-local.issue-task', { action: () => { throw new SimulatedCrash('crash'); } });
      return assert.rejects(create.handler(req({ headers, body })), SimulatedCrash).finally(disarm);
    };
    await crashing({ title: 'One', repo: 'r' }, { 'idempotency-key': 'k-1' });
    await crashing({ title: 'Two', repo: 'r' });
    assert.equal((await kit.conveyor.store.tasks.list()).length, 0, 'the window: two issues, no task');
    const retry = await create.handler(req({ headers: { 'idempotency-key': 'k-1' }, body: { title: 'One', repo: 'r' } }));
    assert.equal(retry.status, 201);
    const issues = await kit.conveyor.db.knex('local_issues').orderBy('id');
    assert.equal(issues.length, 2, 'the retry filed nothing new');
    assert.equal((retry.body as { issue: { id: number } }).issue.id, issues[0].id);
    await kit.conveyor.start();
    await eventually(async () => (await kit.conveyor.store.tasks.list()).length === 2, 10_000, 'the keyless issue got its task at start');
    const tasks = await kit.conveyor.store.tasks.list();
    assert.deepEqual(tasks.map((x) => x.trackerIssueId).sort(), issues.map((i: { id: number }) => String(i.id)).sort());
  });

  test(`${t0} a comment posted twice with one idempotency key lands once`, async (t) => {
    const kit = await createTestConveyor({ dialect, plugins: [trackerLocalPlugin], config: { repos: { r: {} } } });
    t.after(() => kit.cleanup());
    const tracker = kit.conveyor.container.resolve<LocalTracker>(TrackerLocalTokens.Tracker);
    const issue = await tracker.createIssue({ repo: 'r', title: 'x', description: '', status: 'To Analyse' });
    const ref = { repo: 'r', trackerIssueId: String(issue.id) };
    await tracker.addComment(ref, 'cost: $1', { idempotencyKey: 'cost-summary:task-1:done' });
    await tracker.addComment(ref, 'cost: $1', { idempotencyKey: 'cost-summary:task-1:done' });
    await tracker.addComment(ref, 'hello');
    await tracker.addComment(ref, 'hello');
    assert.deepEqual((await tracker.events(issue.id)).filter((e) => e.kind === 'comment').map((e) => e.body), ['cost: $1', 'hello', 'hello']);
  });
}
