import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLANE_V2_MESSAGE, PlaneWebhookError, parsePlaneWebhook, planeDeliveryKey, planeIntent } from '../src/index.js';
import { planeFixture } from '../src/testing/index.js';

const updated = () => JSON.parse(planeFixture('plane-issue-updated.json').toString('utf8')) as Record<string, any>;
const text = (o: unknown) => JSON.stringify(o);
const rejects = (body: string, pattern: RegExp) =>
  assert.throws(() => planeIntent(parsePlaneWebhook(body)), (e: unknown) => e instanceof PlaneWebhookError && e.status === 400 && pattern.test(e.message));

test('the updated fixture is a state change to "In Progress" of the fixture project', () => {
  const hook = parsePlaneWebhook(planeFixture('plane-issue-updated.json').toString('utf8'));
  assert.equal(hook.event, 'issue');
  assert.equal(hook.action, 'updated');
  assert.equal(hook.activity.actorId, '3b8e2f1a-9c4d-4e6b-a7f0-1d2c3e4f5a6b');
  assert.deepEqual(planeIntent(hook), {
    kind: 'status',
    projectId: '5f0c9e2a-7b41-4d8e-9a63-2c1b0e8f7d64',
    issueId: 'd6f1c2a8-4b7e-4e9d-8a31-6c5b2f0e9d17',
    state: { id: '7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f', name: 'In Progress' },
    title: 'Add retry to webhook sender',
    description: 'Webhook sender should retry with backoff.',
    sequence: 42,
  });
});

test('the created fixture is a status event too (an issue filed straight into a state sends only this)', () => {
  const intent = planeIntent(parsePlaneWebhook(planeFixture('plane-issue-created.json').toString('utf8')));
  assert.equal(intent.kind, 'status');
  assert.equal(intent.kind === 'status' && intent.state.name, 'Backlog');
});

test('"update" is read as "updated"; field "state" (public API) is a state change like "state_id"', () => {
  const b = updated();
  b.action = 'update';
  b.activity.field = 'state';
  const hook = parsePlaneWebhook(text(b));
  assert.equal(hook.action, 'updated');
  assert.equal(planeIntent(hook).kind, 'status');
  assert.equal(planeDeliveryKey(hook), planeDeliveryKey(parsePlaneWebhook(text({ ...b, action: 'updated' }))), 'both spellings are one delivery');
});

test('a bare state UUID leaves the name to the states list; no state at all falls back to the activity', () => {
  const b = updated();
  b.data.state = '7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f';
  const i = planeIntent(parsePlaneWebhook(text(b)));
  assert.deepEqual(i.kind === 'status' && i.state, { id: '7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f', name: null });
  delete b.data.state;
  const j = planeIntent(parsePlaneWebhook(text(b)));
  assert.deepEqual(j.kind === 'status' && j.state, { id: '7c2e9d41-5a8b-4f3c-b6e1-0d9a8c7b6e5f', name: null });
});

test('when Plane re-read the issue after a later move, the activity\'s new state (this delivery\'s transition) wins', () => {
  const b = updated();
  b.activity.new_value = 'e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8';
  const i = planeIntent(parsePlaneWebhook(text(b)));
  assert.deepEqual(i.kind === 'status' && i.state, { id: 'e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8', name: null }, 'named later through the states list');
});

test('other fields, other events, deletes and unknown verbs are ignored with a reason', () => {
  const reason = (mut: (b: Record<string, any>) => void) => {
    const b = updated();
    mut(b);
    const i = planeIntent(parsePlaneWebhook(text(b)));
    return i.kind === 'ignore' ? i.reason : `not ignored: ${i.kind}`;
  };
  assert.match(reason((b) => (b.activity.field = 'name')), /not a state change \(field name\)/);
  assert.match(reason((b) => (b.event = 'cycle')), /event "cycle" is not used/);
  assert.match(reason((b) => ((b.action = 'deleted'), (b.data = { id: b.data.id }))), /issue deleted/);
  assert.match(reason((b) => (b.action = 'archived')), /action "archived" is not used/);
});

test('issue_comment is a comment on its issue, never a state change', () => {
  const body = { event: 'issue_comment', action: 'created', webhook_id: 'w', workspace_id: 'ws', data: { id: 'c1', issue: 'i1', project: 'p1', comment_html: '<p>Approved</p>' }, activity: { field: null, actor: { id: 'u1' } } };
  assert.deepEqual(planeIntent(parsePlaneWebhook(text(body))), { kind: 'comment', projectId: 'p1', issueId: 'i1' });
});

test('a v2 body is refused with the message that says what to configure', () => {
  rejects(text({ version: 'v2', event: 'issue', action: 'updated', data: { id: 'x' } }), new RegExp(PLANE_V2_MESSAGE));
  rejects(text({ event: 'workitem.updated', action: 'updated', data: { id: 'x' } }), /v2 webhooks are not supported yet; configure a v1 webhook/);
});

test('malformed bodies are 400s that name the problem', () => {
  rejects('{"event": "issue", ', /body is not valid JSON/);
  rejects('', /body is not valid JSON/);
  rejects('[1, 2]', /body must be a JSON object, found an array/);
  rejects('"issue"', /body must be a JSON object, found string/);
  rejects('null', /body must be a JSON object, found null/);
  const without = (mut: (b: Record<string, any>) => void) => {
    const b = updated();
    mut(b);
    return text(b);
  };
  rejects(without((b) => delete b.event), /body\.event must be a non-empty string, found nothing/);
  rejects(without((b) => (b.event = 7)), /body\.event must be a non-empty string, found number/);
  rejects(without((b) => delete b.action), /body\.action must be a non-empty string/);
  rejects(without((b) => (b.data = 'x')), /body\.data must be an object, found string/);
  rejects(without((b) => delete b.data.id), /body\.data\.id must be a non-empty string, found nothing/);
  rejects(without((b) => (b.data.id = 42)), /body\.data\.id must be a non-empty string, found number/);
  rejects(without((b) => (b.activity = [])), /body\.activity must be an object or null, found an array/);
  rejects(without((b) => (b.activity.field = 3)), /body\.activity\.field must be a string or null/);
  rejects(without((b) => (b.activity.actor = 'dana')), /body\.activity\.actor must be an object or null/);
  rejects(without((b) => (b.activity.actor.id = 5)), /body\.activity\.actor\.id must be a string or null/);
  rejects(without((b) => delete b.data.project), /body\.data\.project must be a non-empty string/);
  rejects(without((b) => (b.data.state = 12)), /body\.data\.state must be an object \{id, name\} or a state id/);
  rejects(without((b) => (b.data.sequence_id = '42')), /body\.data\.sequence_id must be an integer or null/);
  rejects(without((b) => (b.data.name = ['x'])), /body\.data\.name must be a string or null, found an array/);
  rejects(without((b) => ((b.data.state = null), (b.activity.new_value = null))), /body\.data\.state is missing/);
});

test('the delivery key follows the content, not the delivery: same change → same key, another change → another', () => {
  const a = parsePlaneWebhook(text(updated()));
  const again = parsePlaneWebhook(planeFixture('plane-issue-updated.json').toString('utf8'));
  assert.equal(planeDeliveryKey(a), planeDeliveryKey(again));
  assert.match(planeDeliveryKey(a), /^[0-9a-f]{64}$/);
  const later = updated();
  later.data.updated_at = '2026-05-20T09:15:00.000000Z';
  assert.notEqual(planeDeliveryKey(parsePlaneWebhook(text(later))), planeDeliveryKey(a));
  const otherField = updated();
  otherField.activity.field = 'priority';
  assert.notEqual(planeDeliveryKey(parsePlaneWebhook(text(otherField))), planeDeliveryKey(a), 'one PATCH sends one delivery per key');
});
