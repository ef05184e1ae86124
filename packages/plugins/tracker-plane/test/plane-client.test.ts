import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlaneApiError, PlaneClient, type PlaneClientOptions } from '../src/index.js';
import { FakePlane } from '../src/testing/index.js';

async function setup(t: { after(fn: () => Promise<void>): void }, fakeOptions: Parameters<typeof FakePlane.start>[0] = {}, clientOptions: Partial<PlaneClientOptions> = {}) {
  const plane = await FakePlane.start({ echoApiChanges: false, ...fakeOptions });
  t.after(() => plane.close());
  const waits: number[] = [];
  const client = new PlaneClient({ baseUrl: plane.url, apiKey: plane.apiKey, workspaceSlug: plane.workspaceSlug, sleep: async (ms) => void waits.push(ms), ...clientOptions });
  return { plane, client, waits };
}

const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

test('listIssues pages with per_page ≤ 100 and the cursor until next_page_results is false', async (t) => {
  const { plane, client } = await setup(t);
  for (let n = 1; n <= 250; n++) plane.createIssue({ name: `Issue ${n}`, silent: true });
  const issues = await collect(client.listIssues(plane.projectId));
  assert.equal(issues.length, 250);
  assert.equal(new Set(issues.map((i) => i.id)).size, 250, 'no issue twice');
  const calls = plane.callsTo('GET', '/work-items/');
  assert.equal(calls.length, 3);
  for (const c of calls) {
    assert.ok(Number(c.query.per_page) <= 100, `per_page ${c.query.per_page}`);
    assert.equal(c.apiKey, plane.apiKey);
    assert.equal(c.path, `/api/v1/workspaces/acme/projects/${plane.projectId}/work-items/`);
  }
  assert.deepEqual(calls.map((c) => c.query.cursor), [undefined, '100:1:0', '100:2:0']);

  plane.calls.length = 0;
  const few = await collect(client.listIssues(plane.projectId, { perPage: 7_000 }));
  assert.equal(few.length, 250);
  assert.ok(plane.calls.every((c) => c.query.per_page === '100'), 'a larger page size is capped at 100');

  plane.calls.length = 0;
  const small = await collect(client.listIssues(plane.projectId, { perPage: 60, stateIds: [plane.state('Backlog').id] }));
  assert.equal(small.length, 250);
  assert.equal(plane.calls.length, 5);
});

test('listStates pages too, is cached per project, and refreshes on demand', async (t) => {
  const { plane, client } = await setup(t);
  const states = await client.listStates(plane.projectId);
  assert.ok(states.some((s) => s.name === 'In Progress' && s.id === '7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f'), 'the fixture states');
  assert.ok(states.some((s) => s.name === 'To Analyse'));
  await client.listStates(plane.projectId);
  assert.equal(plane.callsTo('GET', '/states/').length, 1, 'second read from the cache');
  const other = plane.addProject();
  await client.listStates(other);
  await client.listStates(plane.projectId, { refresh: true });
  assert.equal(plane.callsTo('GET', '/states/').length, 3);
});

test('setStateByName PATCHes the state UUID; names match without regard to case', async (t) => {
  const { plane, client } = await setup(t);
  const issue = plane.createIssue({ name: 'A', silent: true });
  await client.setStateByName(plane.projectId, issue.id, 'in review');
  assert.equal(plane.issue(issue.id).state, plane.state('In Review').id);
  const patch = plane.callsTo('PATCH', `/work-items/${issue.id}/`);
  assert.equal(patch.length, 1);
  assert.deepEqual(patch[0]!.body, { state: plane.state('In Review').id });
  assert.equal(patch[0]!.status, 200);
});

test('an unknown state name fails clearly, names the known states, and sends no PATCH', async (t) => {
  const { plane, client } = await setup(t);
  const issue = plane.createIssue({ name: 'A', silent: true });
  await assert.rejects(client.setStateByName(plane.projectId, issue.id, 'Shipped'), (e: unknown) => {
    assert.ok(e instanceof PlaneApiError);
    assert.equal(e.code, 'PLANE_UNKNOWN_STATE');
    assert.match(e.message, /no state "Shipped" \(known states: "Backlog", "Todo", "In Progress", "Done", "Cancelled", "To Analyse"/);
    assert.match(e.message, /plugins\.tracker-plane\.statusNames/);
    return true;
  });
  assert.equal(plane.callsTo('PATCH', '/').length, 0);
  assert.equal(plane.callsTo('GET', '/states/').length, 2, 'the cache was refreshed once before giving up');
});

test('addComment POSTs comment_html (201); getIssue reads one work item', async (t) => {
  const { plane, client } = await setup(t);
  const issue = plane.createIssue({ name: 'A', silent: true });
  const c = await client.addComment(plane.projectId, issue.id, '<p>hi</p>');
  assert.equal(typeof c.id, 'string');
  assert.equal(plane.comments.at(-1)!.commentHtml, '<p>hi</p>');
  assert.equal(plane.callsTo('POST', '/comments/')[0]!.status, 201);
  const got = await client.getIssue(plane.projectId, issue.id);
  assert.equal(got.name, 'A');
  assert.equal(got.sequence_id, 1);
});

test('429 is honoured: Retry-After, else X-RateLimit-Reset; bounded; then it gives up with 429', async (t) => {
  const { plane } = await setup(t);
  // A fresh client per case: a held client would (rightly) wait out the previous case's hold first.
  const fresh = () => {
    const waits: number[] = [];
    return { waits, client: new PlaneClient({ baseUrl: plane.url, apiKey: plane.apiKey, workspaceSlug: plane.workspaceSlug, sleep: async (ms) => void waits.push(ms) }) };
  };
  let c = fresh();
  plane.inject429({ retryAfterSec: 2 });
  assert.equal((await c.client.listStates(plane.projectId)).length > 0, true);
  assert.deepEqual(c.waits, [2000]);
  assert.deepEqual(plane.callsTo('GET', '/states/').map((x) => x.status), [429, 200]);

  c = fresh();
  plane.inject429({ resetInSec: 10 });
  await c.client.listStates(plane.projectId);
  assert.equal(c.waits.length, 1);
  assert.ok(c.waits[0]! > 8_000 && c.waits[0]! <= 11_000, `waited ${c.waits[0]} ms until the reset`);

  c = fresh();
  plane.inject429({ retryAfterSec: 3600 });
  await c.client.listStates(plane.projectId);
  assert.deepEqual(c.waits, [60_000], 'never longer than a minute');

  c = fresh();
  plane.inject429({ times: 4, retryAfterSec: 0 });
  await assert.rejects(c.client.listStates(plane.projectId), (e: unknown) => e instanceof PlaneApiError && e.code === 'PLANE_RATE_LIMITED' && e.status === 429 && /Request was throttled/.test(e.message));
  assert.equal(c.waits.length, 3, 'three retries, then the error');
});

test('a real wait: Retry-After 1 delays the retry by about a second', async (t) => {
  const { plane } = await setup(t);
  const client = new PlaneClient({ baseUrl: plane.url, apiKey: plane.apiKey, workspaceSlug: plane.workspaceSlug });
  plane.inject429({ retryAfterSec: 1 });
  const started = Date.now();
  await client.listStates(plane.projectId);
  assert.ok(Date.now() - started >= 950, `took ${Date.now() - started} ms`);
});

test('X-RateLimit-Remaining 0 holds the next call until the reset', async (t) => {
  const { plane, client, waits } = await setup(t, { rateLimit: 2 });
  await client.listStates(plane.projectId);
  assert.deepEqual(waits, []);
  await client.listStates(plane.projectId, { refresh: true });
  assert.deepEqual(waits, [], 'the second call used the last request of the window');
  await client.listStates(plane.projectId, { refresh: true }).catch(() => undefined);
  assert.equal(waits.length >= 1, true);
  assert.ok(waits[0]! > 0 && waits[0]! <= 60_000, `held ${waits[0]} ms`);
});

test('errors carry the status and Plane\'s message, with a hint', async (t) => {
  const { plane } = await setup(t);
  const bad = new PlaneClient({ baseUrl: plane.url, apiKey: 'wrong', workspaceSlug: plane.workspaceSlug });
  await assert.rejects(bad.listStates(plane.projectId), (e: unknown) => e instanceof PlaneApiError && e.status === 403 && e.planeMessage === 'Given API token is not valid' && /answered 403: Given API token is not valid \(check plugins\.tracker-plane\.apiKey/.test(e.message));
  const good = new PlaneClient({ baseUrl: `${plane.url}/`, apiKey: plane.apiKey, workspaceSlug: plane.workspaceSlug });
  await assert.rejects(good.getIssue(plane.projectId, '00000000-0000-4000-8000-000000000000'), (e: unknown) => e instanceof PlaneApiError && e.status === 404 && e.planeMessage === 'The requested resource does not exist.');
  const issue = plane.createIssue({ name: 'A', silent: true });
  const wrongSlug = new PlaneClient({ baseUrl: plane.url, apiKey: plane.apiKey, workspaceSlug: 'nope' });
  await assert.rejects(wrongSlug.getIssue(plane.projectId, issue.id), /answered 404.*workspaceSlug/);
});

test('a server that does not answer is a network error naming the base URL', async () => {
  const client = new PlaneClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', workspaceSlug: 'acme', requestTimeoutMs: 2_000 });
  await assert.rejects(client.getIssue('p', 'i'), (e: unknown) => e instanceof PlaneApiError && e.code === 'PLANE_NETWORK_ERROR' && e.status === null && /127\.0\.0\.1:9 reachable/.test(e.message));
});
