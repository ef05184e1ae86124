import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OwnedRoute, RouteRequest } from '@conveyor/core';
import { createTestConveyor, eventually, testDatabases } from '@conveyor/core/testing';
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
