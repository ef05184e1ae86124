import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrackerIssue } from '@conveyor/core';
import { PlaneApiError, PlaneClient, PlaneTracker, StatusNameMap, htmlToText, textToHtml } from '../src/index.js';
import { FakePlane } from '../src/testing/index.js';

const CONVEYOR_NAMES = ['To Analyse', 'In Progress', 'Needs Input', 'In Review', 'Approved', 'Rejected', 'STOP', 'Confirm Deploy', 'Awaiting Deploy', 'Deploying', 'Monitoring after Deploy', 'Done'];

async function setup(t: { after(fn: () => Promise<void>): void }, statusNames: Record<string, string> = {}) {
  const plane = await FakePlane.start({ echoApiChanges: false });
  t.after(() => plane.close());
  const client = new PlaneClient({ baseUrl: plane.url, apiKey: plane.apiKey, workspaceSlug: plane.workspaceSlug });
  const tracker = new PlaneTracker({ client, projects: { [plane.projectId]: { repo: 'acme/app' } }, statusNames: new StatusNameMap(statusNames, CONVEYOR_NAMES) });
  return { plane, tracker };
}

test('setStatus writes the Plane state of that name; statusNames maps the ones that differ', async (t) => {
  const { plane, tracker } = await setup(t, { 'Awaiting Deploy': 'Todo' });
  const issue = plane.createIssue({ name: 'A', silent: true });
  await tracker.setStatus({ repo: 'acme/app', trackerIssueId: issue.id }, 'In Review', { reason: 'analyst finished' });
  assert.equal(plane.stateOf(plane.issue(issue.id)).name, 'In Review');
  await tracker.setStatus({ repo: 'acme/app', trackerIssueId: issue.id }, 'Awaiting Deploy', { reason: 'deploy' });
  assert.equal(plane.stateOf(plane.issue(issue.id)).name, 'Todo');
  await assert.rejects(tracker.setStatus({ repo: 'other/repo', trackerIssueId: issue.id }, 'Done', { reason: 'x' }), (e: unknown) => e instanceof PlaneApiError && e.code === 'PLANE_UNKNOWN_REPO' && /plugins\.tracker-plane\.projects/.test(e.message));
});

test('addComment sends the text escaped, in paragraphs with line breaks', async (t) => {
  const { plane, tracker } = await setup(t);
  const issue = plane.createIssue({ name: 'A', silent: true });
  await tracker.addComment({ repo: 'acme/app', trackerIssueId: issue.id }, 'Developer done · 45.2k in\n<script>alert(1)</script> & "q"\n\nSecond');
  assert.equal(plane.comments.at(-1)!.commentHtml, '<p>Developer done · 45.2k in<br>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;</p><p>Second</p>');
});

test('a comment with an idempotency key is posted once: Plane answers the repeat 409 (external_id), which counts as posted', async (t) => {
  const { plane, tracker } = await setup(t);
  const issue = plane.createIssue({ name: 'A', silent: true });
  const ref = { repo: 'acme/app', trackerIssueId: issue.id };
  await tracker.addComment(ref, 'Cost: $1.20', { idempotencyKey: 'cost-summary:task-7:done' });
  await tracker.addComment(ref, 'Cost: $1.20', { idempotencyKey: 'cost-summary:task-7:done' });
  await tracker.addComment(ref, 'plain');
  await tracker.addComment(ref, 'plain');
  assert.deepEqual(plane.comments.map((c) => [c.commentHtml, c.externalId ?? null, c.externalSource ?? null]), [
    ['<p>Cost: $1.20</p>', 'cost-summary:task-7:done', 'conveyor'],
    ['<p>plain</p>', null, null],
    ['<p>plain</p>', null, null],
  ]);
});

test('listIssuesInStatus yields the repo project\'s issues in those statuses, in Conveyor\'s words', async (t) => {
  const { plane, tracker } = await setup(t, { Done: 'Cancelled' });
  const a = plane.createIssue({ name: 'A', state: 'To Analyse', descriptionHtml: '<p>Users &amp; admins</p><p>want it</p>', silent: true });
  plane.createIssue({ name: 'B', state: 'Backlog', silent: true });
  const c = plane.createIssue({ name: 'C', state: 'Cancelled', silent: true });
  for (let n = 0; n < 120; n++) plane.createIssue({ name: `filler ${n}`, silent: true });
  const got: TrackerIssue[] = [];
  for await (const i of tracker.listIssuesInStatus('acme/app', ['To Analyse', 'Done', 'Nonexistent'])) got.push(i);
  got.sort((x, y) => (x.sequence ?? 0) - (y.sequence ?? 0));
  assert.deepEqual(got, [
    { id: a.id, title: 'A', description: 'Users & admins\nwant it', status: 'To Analyse', sequence: 1, updatedAt: a.updatedAt },
    { id: c.id, title: 'C', description: '', status: 'Done', sequence: 3, updatedAt: c.updatedAt },
  ]);
  assert.ok(plane.calls.every((x) => x.query.per_page === undefined || Number(x.query.per_page) <= 100));
  const none: TrackerIssue[] = [];
  for await (const i of tracker.listIssuesInStatus('acme/app', ['Nonexistent'])) none.push(i);
  assert.deepEqual(none, []);
});

test('StatusNameMap: identity by default, case-insensitive back to Conveyor\'s spelling, mapped names both ways', () => {
  const m = new StatusNameMap({ 'To Analyse': 'Ready for AI', Done: 'Shipped' }, CONVEYOR_NAMES);
  assert.equal(m.toPlane('In Review'), 'In Review');
  assert.equal(m.toPlane('To Analyse'), 'Ready for AI');
  assert.equal(m.toConveyor('ready for ai'), 'To Analyse');
  assert.equal(m.toConveyor('in review'), 'In Review');
  assert.equal(m.toConveyor('Backlog'), 'Backlog', 'unknown states keep their name');
  const swapped = new StatusNameMap({ Approved: 'Rejected', Rejected: 'Approved' }, CONVEYOR_NAMES);
  assert.equal(swapped.toConveyor('Approved'), 'Rejected');
  assert.equal(swapped.toConveyor('Rejected'), 'Approved');
});

test('text ↔ HTML helpers', () => {
  assert.equal(textToHtml(''), '<p></p>');
  assert.equal(textToHtml('a\r\nb'), '<p>a<br>b</p>');
  assert.equal(htmlToText('<p>a<br/>b</p><ul><li>x &lt;y&gt;</li></ul>&#233;&#x1F680;&bogus;'), 'a\nb\nx <y>\né🚀&bogus;');
});

test('blockedBy reads the work item\'s "blocked by" relations from Plane', async (t) => {
  const { plane, tracker } = await setup(t);
  const a = plane.createIssue({ name: 'A', silent: true });
  const b = plane.createIssue({ name: 'B', silent: true });
  const c = plane.createIssue({ name: 'C', silent: true });
  plane.issue(c.id).blockedBy = [a.id, b.id];
  assert.deepEqual(await tracker.blockedBy({ repo: 'acme/app', trackerIssueId: c.id }), [a.id, b.id]);
  assert.deepEqual(await tracker.blockedBy({ repo: 'acme/app', trackerIssueId: a.id }), []);
  await assert.rejects(tracker.blockedBy({ repo: 'acme/app', trackerIssueId: '00000000-0000-4000-8000-000000000000' }), (e: unknown) => e instanceof PlaneApiError);
});
