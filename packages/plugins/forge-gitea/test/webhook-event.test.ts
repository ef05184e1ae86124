import assert from 'node:assert/strict';
import { test } from 'node:test';
import { giteaDeliveryKey, giteaEventName, GiteaPayloadError, isMerge, parseGiteaEvent, type UsedEvent } from '../src/index.js';
import { fixture } from './helpers.js';

const json = (name: string) => JSON.parse(fixture(name).toString('utf8')) as Record<string, any>;
const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const SHA = '4b7e1d9c2a5f8e3b6d0c9a2f5e8b1d4c7a0f3e6b';

test('event name: X-Gitea-Event-Type first, then X-Gitea-Event; an empty X-Gitea-Event (Gitea 1.23.0) is no obstacle', () => {
  assert.equal(giteaEventName({ 'x-gitea-event-type': 'status', 'x-gitea-event': '' }), 'status');
  assert.equal(giteaEventName({ 'x-gitea-event-type': 'pull_request_sync', 'x-gitea-event': 'pull_request' }), 'pull_request_sync');
  assert.equal(giteaEventName({ 'x-gitea-event': 'push' }), 'push');
  assert.equal(giteaEventName({ 'x-gitea-event-type': '', 'x-gitea-event': 'status' }), 'status');
  assert.equal(giteaEventName({ 'x-gitea-event-type': ['status', 'push'] }), 'status');
  assert.equal(giteaEventName({ 'x-gitea-event-type': ' Status ' }), 'status');
  assert.equal(giteaEventName({}), '');
});

test('status fixtures parse to what intake needs', () => {
  const ok = parseGiteaEvent('status', fixture('gitea-status-success.json'));
  assert.deepEqual(ok, {
    kind: 'status',
    fullName: 'acme/orchestrator',
    sha: SHA,
    context: 'CI / test (push)',
    state: 'success',
    targetUrl: 'https://gitea.example.com/acme/orchestrator/actions/runs/88/jobs/0',
    statusId: 412,
    updatedAt: '2026-05-20T09:07:19Z',
  });
  const failed = parseGiteaEvent('status', fixture('gitea-status-failure.json'));
  assert.equal(failed.kind === 'status' && failed.state, 'failure');
});

test('pull_request fixture: closed + merged is a merge of the head branch', () => {
  const e = parseGiteaEvent('pull_request', fixture('gitea-pull-request-merged.json'));
  assert.deepEqual(e, {
    kind: 'pull_request',
    fullName: 'acme/orchestrator',
    action: 'closed',
    number: 17,
    merged: true,
    head: 'agent/PROJ-42-add-retry',
    base: 'main',
    mergeSha: 'c81e728d9d4c2f636f067f89cc14862c1a5b7e90',
    mergedAt: '2026-05-20T11:12:40+02:00',
  });
  assert.equal(e.kind === 'pull_request' && isMerge(e), true);
  const closed = json('gitea-pull-request-merged.json');
  closed.pull_request.merged = false;
  closed.pull_request.merge_commit_sha = null;
  const plain = parseGiteaEvent('pull_request', body(closed));
  assert.equal(plain.kind === 'pull_request' && isMerge(plain), false, 'a plain close is not a merge');
  const sync = { ...json('gitea-pull-request-merged.json'), action: 'synchronized' };
  const s = parseGiteaEvent('pull_request', body(sync));
  assert.equal(s.kind === 'pull_request' && isMerge(s), false);
});

test('push fixture: ref, before, after', () => {
  assert.deepEqual(parseGiteaEvent('push', fixture('gitea-push.json')), {
    kind: 'push',
    fullName: 'acme/orchestrator',
    ref: 'refs/heads/agent/PROJ-42-add-retry',
    before: '9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b1d',
    after: SHA,
  });
});

test('malformed bodies are refused with a message naming the problem', () => {
  const cases: [UsedEvent, Buffer, RegExp][] = [
    ['status', Buffer.from('{"sha": '), /status payload is not valid JSON/],
    ['status', Buffer.from(''), /not valid JSON/],
    ['push', Buffer.from('[1, 2]'), /must be a JSON object \(found an array\)/],
    ['push', Buffer.from('null'), /must be a JSON object \(found null\)/],
    ['push', Buffer.from('"push"'), /must be a JSON object \(found "push"\)/],
    ['status', body({ ...json('gitea-status-success.json'), repository: undefined }), /"repository.full_name" must be a non-empty string \(found nothing\)/],
    ['status', body({ ...json('gitea-status-success.json'), repository: { full_name: 42 } }), /"repository.full_name" must be a non-empty string \(found 42\)/],
    ['status', body({ ...json('gitea-status-success.json'), sha: undefined }), /status payload: "sha" must be a non-empty string/],
    ['status', body({ ...json('gitea-status-success.json'), sha: 'main' }), /"sha" must be a 40- or 64-digit lower-case hex commit id \(found "main"\)/],
    ['status', body({ ...json('gitea-status-success.json'), state: 'great' }), /"state" must be one of pending, success, error, failure, warning, skipped \(found "great"\)/],
    ['status', body({ ...json('gitea-status-success.json'), context: ['CI'] }), /"context" must be a non-empty string \(found an array\)/],
    ['status', body({ ...json('gitea-status-success.json'), target_url: 7 }), /"target_url" must be a string or null \(found 7\)/],
    ['pull_request', body({ ...json('gitea-pull-request-merged.json'), number: '17' }), /"number" must be a positive integer \(found "17"\)/],
    ['pull_request', body({ ...json('gitea-pull-request-merged.json'), pull_request: { merged: 'yes' } }), /"pull_request.merged" must be true or false \(found "yes"\)/],
    ['pull_request', body({ ...json('gitea-pull-request-merged.json'), pull_request: { merged: true, head: {}, base: { ref: 'main' } } }), /"pull_request.head.ref" must be a non-empty string/],
    ['push', body({ ...json('gitea-push.json'), after: null }), /push payload: "after" must be a non-empty string \(found null\)/],
  ];
  for (const [event, raw, message] of cases) {
    assert.throws(() => parseGiteaEvent(event, raw), (err: Error) => err instanceof GiteaPayloadError && err.code === 'FORGE_GITEA_PAYLOAD_INVALID' && message.test(err.message), `${event}: ${raw.toString().slice(0, 60)} → ${message}`);
  }
});

test('delivery keys come from content: the same bytes give the same key, another state or context another', () => {
  const ok = parseGiteaEvent('status', fixture('gitea-status-success.json'));
  const failed = parseGiteaEvent('status', fixture('gitea-status-failure.json'));
  assert.equal(giteaDeliveryKey(ok), giteaDeliveryKey(parseGiteaEvent('status', fixture('gitea-status-success.json'))));
  assert.notEqual(giteaDeliveryKey(ok), giteaDeliveryKey(failed));
  const other = parseGiteaEvent('status', body({ ...json('gitea-status-success.json'), context: 'CI / lint (push)' }));
  assert.notEqual(giteaDeliveryKey(ok), giteaDeliveryKey(other));
  const rerun = parseGiteaEvent('status', body({ ...json('gitea-status-success.json'), id: 999, updated_at: '2026-05-20T10:00:00Z' }));
  assert.notEqual(giteaDeliveryKey(ok), giteaDeliveryKey(rerun), 'a re-run reporting the same state again is a new status');
  const merged = parseGiteaEvent('pull_request', fixture('gitea-pull-request-merged.json'));
  const push = parseGiteaEvent('push', fixture('gitea-push.json'));
  for (const k of [ok, merged, push].map(giteaDeliveryKey)) assert.match(k, /^(status|pull_request|push):[0-9a-f]{64}$/);
  assert.ok(giteaDeliveryKey(ok).length <= 255, 'fits the inbox key column');
});
