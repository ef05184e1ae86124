import assert from 'node:assert/strict';
import { cancelPlugin } from '@conveyor/plugin-cancel';
import { test } from 'node:test';
import { eventually } from '@conveyor/core/testing';
import type { RouteRequest } from '@conveyor/core';
import { PLANE_UNAUTHORIZED_MESSAGE, PLANE_V2_MESSAGE, signPlaneBody, type PlaneTracker, TrackerPlaneTokens } from '../src/index.js';
import { FakePlane, planeFixture, pythonJsonDumps } from '../src/testing/index.js';
import { planeKit, REPO } from './harness.js';

async function setup(t: { after(fn: () => Promise<void>): void }, section: Record<string, unknown> = {}) {
  const plane = await FakePlane.start();
  const kit = await planeKit(plane, section);
  plane.setWebhookUrl(kit.webhookUrl);
  t.after(async () => {
    await kit.cleanup();
    await plane.close();
  });
  const post = (body: string | Buffer, headers: Record<string, string | undefined> = {}) => {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const req: RouteRequest = { params: {}, query: {}, headers: { 'x-plane-signature': signPlaneBody(raw, plane.webhookSecret), 'x-plane-event': 'issue', ...headers }, body: null, rawBody: raw };
    return kit.route.handler(req);
  };
  const nothingWritten = async () => {
    assert.deepEqual(await kit.inboxRows(), [], 'no inbox row');
    assert.deepEqual(await kit.conveyor.store.tasks.list(), [], 'no task');
  };
  return { plane, kit, post, nothingWritten };
}

/** The fixture, re-pointed at another project and state, re-serialised the way Plane does. */
function fixtureBody(mut: (b: Record<string, any>) => void): string {
  const b = JSON.parse(planeFixture('plane-issue-updated.json').toString('utf8')) as Record<string, any>;
  mut(b);
  return pythonJsonDumps(b);
}

test('the route is a webhook route with an explicit body limit', async (t) => {
  const { kit } = await setup(t);
  assert.equal(kit.route.auth, 'webhook');
  assert.equal(kit.route.rawBody, true);
  assert.equal(kit.route.bodyLimit, 1024 * 1024);
  assert.equal(kit.route.plugin, 'tracker-plane');
});

test('a wrong or missing signature is 401 with the hint, and nothing is written', async (t) => {
  const { post, nothingWritten } = await setup(t);
  const raw = planeFixture('plane-issue-updated.json');
  const restrung = JSON.stringify(JSON.parse(raw.toString('utf8')));
  for (const headers of [{ 'x-plane-signature': undefined }, { 'x-plane-signature': signPlaneBody(raw, 'plane_wh_wrong') }, { 'x-plane-signature': signPlaneBody(restrung, 'plane_wh_5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e') }, { 'x-plane-signature': 'zz' }]) {
    const res = await post(raw, headers);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { error: 'unauthorized', message: PLANE_UNAUTHORIZED_MESSAGE });
  }
  await nothingWritten();
});

test('a malformed or v2 body (correctly signed) is 400 naming the problem, and nothing is written', async (t) => {
  const { post, nothingWritten } = await setup(t);
  const cases: [string, RegExp][] = [
    ['{"event": "issue", ', /^body is not valid JSON/],
    ['[]', /^body must be a JSON object, found an array$/],
    ['{"action": "updated", "data": {"id": "x"}}', /^body\.event must be a non-empty string, found nothing$/],
    [fixtureBody((b) => delete b.data.id), /^body\.data\.id must be a non-empty string/],
    ['{"version": "v2", "event": "work_item", "action": "updated", "data": {"id": "x"}}', new RegExp(`^${PLANE_V2_MESSAGE}$`)],
    // Deep enough that serialising it overflows the stack: still the sender's 400, never a 500.
    [fixtureBody((b) => (b.activity.new_value = '@')).replace('"@"', '['.repeat(200_000) + ']'.repeat(200_000)), /^body\.activity\.new_value cannot be read/],
  ];
  for (const [body, message] of cases) {
    const res = await post(body);
    assert.equal(res.status, 400, body);
    assert.equal((res.body as { error: string }).error, 'bad_request');
    assert.match((res.body as { message: string }).message, message);
  }
  await nothingWritten();
});

test('an unknown project, the bot\'s own change and a non-state change are 202 ignored, and nothing is written', async (t) => {
  const { plane, kit, post, nothingWritten } = await setup(t);
  const unknown = await post(fixtureBody((b) => (b.data.project = '11111111-2222-4333-8444-555555555555')));
  assert.deepEqual(unknown, { status: 202, body: { ignored: 'unknown project 11111111-2222-4333-8444-555555555555' } });
  assert.ok(kit.logger.lines.some((l) => l.obj.projectId === '11111111-2222-4333-8444-555555555555' && /not under plugins\.tracker-plane\.projects/.test(l.msg ?? '')), 'logged');
  const bot = await post(fixtureBody((b) => (b.activity.actor.id = plane.bot.id)));
  assert.equal(bot.status, 202);
  assert.match((bot.body as { ignored: string }).ignored, /bot user/);
  const rename = await post(fixtureBody((b) => (b.activity.field = 'name')));
  assert.deepEqual(rename, { status: 202, body: { ignored: 'not a state change (field name)' } });
  await nothingWritten();
});

test('over HTTP: an issue filed in "To Analyse" starts a task; a redelivery is a duplicate; a comment changes nothing', async (t) => {
  const { plane, kit } = await setup(t);
  const issue = plane.createIssue({ name: 'Add dark mode', state: 'To Analyse', descriptionHtml: '<p>Users &amp; admins asked.</p>' });
  await plane.settle();
  const first = plane.deliveries[0]!.attempts[0]!;
  assert.equal(first.status, 202);
  assert.deepEqual(JSON.parse(first.response), { accepted: true, duplicate: false });
  await kit.conveyor.webhooks.idle();
  const [task] = await kit.conveyor.store.tasks.list();
  assert.ok(task, 'a task was created');
  assert.equal(task.repo, REPO);
  assert.equal(task.trackerIssueId, issue.id);
  assert.equal(task.workItemId, 'ET-001', 'from the Plane sequence id');
  assert.equal(task.title, 'Add dark mode');
  assert.equal(task.description, 'Users & admins asked.');

  const again = await plane.redeliver(0);
  assert.notEqual(again.deliveryId, first.deliveryId, 'Plane gives a retry a new delivery id');
  assert.deepEqual(JSON.parse(again.response), { accepted: true, duplicate: true });
  assert.equal((await kit.inboxRows()).length, 1);

  plane.addHumanComment(issue.id, '<p>Any news?</p>');
  await plane.settle();
  assert.deepEqual(JSON.parse(plane.deliveries.at(-1)!.attempts[0]!.response), { accepted: true, duplicate: false });
  await kit.conveyor.webhooks.idle();
  const rows = await kit.inboxRows();
  assert.deepEqual(rows.map((r) => r.status), ['processed', 'processed']);
  assert.equal((await kit.conveyor.store.tasks.list()).length, 1);
});

test('Conveyor\'s own status change comes back from Plane as the bot\'s and is ignored', async (t) => {
  const { plane, kit } = await setup(t);
  const issue = plane.createIssue({ name: 'A', state: 'Backlog', silent: true });
  const tracker = kit.conveyor.container.resolve<PlaneTracker>(TrackerPlaneTokens.Tracker);
  await tracker.setStatus({ repo: REPO, trackerIssueId: issue.id }, 'To Analyse', { reason: 'test' });
  await plane.settle();
  const echo = plane.deliveries.at(-1)!;
  assert.match(echo.body, /"field": "state"/);
  assert.match(JSON.parse(echo.attempts[0]!.response).ignored, /bot user/);
  assert.deepEqual(await kit.inboxRows(), []);
});

test('a state sent as a bare UUID is named through the states list; statusNames maps it to Conveyor\'s name', async (t) => {
  const { plane, kit, post } = await setup(t, { statusNames: { 'To Analyse': 'Todo' } });
  const todo = plane.state('Todo');
  const res = await post(fixtureBody((b) => ((b.data.state = todo.id), (b.activity.new_value = todo.id))));
  assert.deepEqual(res, { status: 202, body: { accepted: true, duplicate: false } });
  await kit.conveyor.webhooks.idle();
  const tasks = (await eventually(async () => {
    const list = await kit.conveyor.store.tasks.list();
    return list.length ? list : null;
  }, 5_000, 'the task'))!;
  assert.equal(tasks[0]!.trackerIssueId, 'd6f1c2a8-4b7e-4e9d-8a31-6c5b2f0e9d17');
  assert.equal(tasks[0]!.workItemId, 'ET-042');
  assert.equal(plane.callsTo('GET', '/states/').length, 1, 'the name came from the REST states list');
});

test('held deliveries can be sent out of order; each is processed once', async (t) => {
  const plane = await FakePlane.start({ autoDeliver: false });
  const kit = await planeKit(plane);
  plane.setWebhookUrl(kit.webhookUrl);
  t.after(async () => {
    await kit.cleanup();
    await plane.close();
  });
  const issue = plane.createIssue({ name: 'B', state: 'Backlog' });
  plane.moveIssue(issue.id, 'To Analyse');
  assert.equal(plane.deliveries.length, 2);
  assert.equal((await plane.deliver(1)).status, 202);
  assert.equal((await plane.deliver(0)).status, 202);
  await kit.conveyor.webhooks.idle();
  assert.equal((await kit.conveyor.store.tasks.list()).length, 1);
  assert.equal((await kit.inboxRows()).length, 2);
});

test('a delivery that cannot be processed is marked failed in the inbox with the reason; the route still said 202', async (t) => {
  const { kit, post } = await setup(t);
  const ghost = '99999999-8888-4777-8666-555555555555';
  const res = await post(fixtureBody((b) => ((b.data.state = ghost), (b.activity.new_value = ghost))));
  assert.equal(res.status, 202);
  await kit.conveyor.webhooks.idle();
  const [row] = await kit.inboxRows();
  assert.equal(row!.status, 'failed');
  assert.match(String(row!.error), new RegExp(`Plane state ${ghost} of work item .* is not in project`));
  assert.deepEqual(await kit.conveyor.store.tasks.list(), []);
});

test('the /queue block shows the mapping and what the route did', async (t) => {
  const { plane, kit, post } = await setup(t);
  await post('[]');
  await post(fixtureBody((b) => (b.activity.field = 'name')));
  const snap = await kit.conveyor.snapshot();
  assert.deepEqual(snap.plugins['tracker-plane'], {
    baseUrl: plane.url,
    workspace: 'acme',
    projects: { [plane.projectId]: REPO },
    webhook: { path: '/webhooks/plane', accepted: 0, duplicates: 0, ignored: 1, rejected: 1 },
  });
});

test("a rejection in Plane hands the person's latest comment to the analyst; Conveyor's own comments are not it", async (t) => {
  const { plane, kit } = await setup(t);
  const issue = plane.createIssue({ name: 'Add dark mode', state: 'To Analyse' });
  await plane.settle();
  await kit.conveyor.webhooks.idle();
  const [task] = await kit.conveyor.store.tasks.list();
  // The analyst finished; the person asks for a narrower scope and rejects.
  await kit.conveyor.db.knex('jobs').where({ task_id: task!.id }).update({ status: 'done' });
  plane.addHumanComment(issue.id, '<p>Only the settings page, please.</p>');
  plane.recordComment(plane.issue(issue.id), '<p>Analyst done · 1.0k in / 100 out · $0.01</p>', plane.bot, false);
  plane.moveIssue(issue.id, 'Rejected');
  await plane.settle();
  await kit.conveyor.webhooks.idle();
  const job = (await kit.conveyor.store.jobs.activeForTask(task!.id))!;
  assert.equal(job.role, 'analyst');
  assert.match(job.reason!, /Rejected by a person\. Their words:\nOnly the settings page, please\./);
});

test("Plane's STOP state cancels the task (with the cancel plugin); the same issue moved to To Analyse again starts a fresh task", async (t) => {
  const plane = await FakePlane.start();
  const kit = await planeKit(plane, {}, [cancelPlugin]);
  plane.setWebhookUrl(kit.webhookUrl);
  t.after(async () => {
    await kit.cleanup();
    await plane.close();
  });
  const issue = plane.createIssue({ name: 'Add dark mode', state: 'To Analyse' });
  await plane.settle();
  await kit.conveyor.webhooks.idle();
  const [task] = await kit.conveyor.store.tasks.list();
  plane.moveIssue(issue.id, 'STOP');
  await plane.settle();
  await kit.conveyor.webhooks.idle();
  const cancelled = (await kit.conveyor.store.tasks.get(task!.id))!;
  assert.equal(cancelled.stage, 'cancelled');
  assert.equal(cancelled.trackerIssueId, `${issue.id}~cancelled-${task!.id}`);
  plane.moveIssue(issue.id, 'To Analyse');
  await plane.settle();
  await kit.conveyor.webhooks.idle();
  const live = await kit.conveyor.store.tasks.list({ live: true });
  assert.equal(live.length, 1);
  assert.notEqual(live[0]!.id, task!.id);
  assert.equal(live[0]!.trackerIssueId, issue.id);
  assert.equal(live[0]!.workItemId, task!.workItemId, 'the same Plane sequence, free again');
});
