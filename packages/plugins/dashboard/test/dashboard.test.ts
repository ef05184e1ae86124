import assert from 'node:assert/strict';
import { test } from 'node:test';
import 'reflect-metadata';
import { DEFAULT_PIPELINE, type OwnedRoute, type Task, type WaitingFor } from '@conveyor/core';
import { html, matches, movedBy, renderMarkdown, taskActions } from '../src/index.js';

const task = (over: Partial<Task> = {}): Task => ({ id: 7, repo: 'acme/app', workItemId: 'ET-007', title: 'Add a greeting', stage: 'analysis', blockedAt: null, cancelRequestedAt: null, ...over }) as Task;
const waiting = (kind: string, reasons: string[] = []): WaitingFor => ({ kind, sentence: '', reasons: reasons.map((k) => ({ kind: k, source: 'core', text: k })) });
const approveRoutes = [{ method: 'POST', url: '/tasks/:id/approve', plugin: 'tracker-local' }, { method: 'POST', url: '/tasks/:id/reject', plugin: 'tracker-local' }] as OwnedRoute[];

test('markdown from an agent cannot put markup or script on the page', () => {
  const hostile = [
    '# Title <img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '[click](javascript:alert(1)) and [ok](https://example.com/a?b=1&c=2) and [rel](./x.md)',
    '`<b>code</b>` **bold** *em*',
    '```',
    '</code></pre><script>x</script>',
    '```',
    '> quoted <i>x</i>',
    '- [x] done',
    '| a | <b> |',
  ].join('\n');
  const out = renderMarkdown(hostile).text;
  assert.doesNotMatch(out, /<script|<img|<i>|<b>|javascript:[^)]*"|href="javascript/i);
  assert.match(out, /<h3>Title &lt;img src=x onerror=alert\(1\)&gt;<\/h3>/);
  assert.match(out, /click \(javascript:alert\(1\)\)/, 'an unsafe link stays text');
  assert.match(out, /<a href="https:\/\/example.com\/a\?b=1&amp;c=2" rel="noopener noreferrer">ok<\/a>/);
  assert.match(out, /<a href=".\/x.md"/);
  assert.match(out, /<code>&lt;b&gt;code&lt;\/b&gt;<\/code> <strong>bold<\/strong> <em>em<\/em>/);
  assert.match(out, /<pre><code>&lt;\/code&gt;&lt;\/pre&gt;&lt;script&gt;x&lt;\/script&gt;<\/code><\/pre>/);
  assert.match(out, /<li>☑ done<\/li>/);
});

test('html`` escapes every value and keeps nested markup', () => {
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(html`<p title="${'"x"'}">${inner}${['a', '&']}${null}</p>`.text, '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>a&amp;</p>');
});

test('each action says why it is disabled: no route, nothing to approve, not blocked, done', () => {
  const byId = (list: ReturnType<typeof taskActions>) => Object.fromEntries(list.map((a) => [a.id, a]));
  const waitingForVerdict = byId(taskActions(task(), waiting('gate', ['human_approval']), approveRoutes, { canCancel: true }));
  assert.equal(waitingForVerdict.approve!.enabled, true);
  assert.equal(waitingForVerdict.reject!.input, 'comment');
  assert.equal(waitingForVerdict.stop!.enabled, true);
  // retry and confirm-deploy are the host's own routes: there, and refused for a reason.
  assert.equal(waitingForVerdict.retry!.reason, 'not blocked');
  assert.equal(waitingForVerdict['confirm-deploy']!.reason, 'the task does not wait for a deploy confirmation');
  const atDeploy = byId(taskActions(task({ stage: 'deploy' }), waiting('gate', ['deploy_confirmation']), approveRoutes, { canCancel: true }));
  assert.equal(atDeploy['confirm-deploy']!.enabled, true);
  assert.equal(waitingForVerdict.budget!.url, '/tasks/7/budget');

  const running = byId(taskActions(task({ stage: 'development' }), waiting('running', ['job_running']), approveRoutes, { canCancel: false }));
  assert.equal(running.approve!.reason, "the task does not wait for a person's verdict");
  assert.equal(running.stop!.reason, 'the cancel plugin is not enabled');
  const noTracker = byId(taskActions(task(), waiting('gate', ['human_approval']), [], { canCancel: true }));
  assert.match(noTracker.approve!.reason!, /no approve route/);
  const withRetry = [...approveRoutes, { method: 'POST', url: '/tasks/:id/retry', plugin: 'x' }] as OwnedRoute[];
  assert.equal(byId(taskActions(task({ stage: 'development' }), waiting('running'), withRetry, { canCancel: true })).retry!.reason, 'not blocked');
  assert.equal(byId(taskActions(task({ blockedAt: new Date() }), waiting('blocked'), withRetry, { canCancel: true })).retry!.enabled, true);
  const done = taskActions(task({ stage: 'done' }), waiting('none'), withRetry, { canCancel: true });
  assert.ok(done.every((a) => !a.enabled && a.reason === 'the task is done' || a.id === 'confirm-deploy'));
});

test('who moved a task: a person, a gate, an agent, or a rollback', () => {
  const p = DEFAULT_PIPELINE;
  assert.equal(movedBy(p, { from: 'analysis', to: 'architecture', reason: 'approved by a person' }), 'person');
  assert.equal(movedBy(p, { from: 'development', to: 'review', reason: 'CI forge-git/test: success' }), 'gate');
  assert.equal(movedBy(p, { from: 'review', to: 'testing', reason: 'reviewer finished' }), 'agent');
  assert.equal(movedBy(p, { from: 'review', to: 'development', reason: 'review_approved failed: changes requested' }), 'rollback');
});

test('the tasks filter: live, blocked, done, repo and search', () => {
  const f = (over = {}) => ({ state: 'all' as const, repo: null, q: null, ...over });
  assert.equal(matches(task(), f({ state: 'live' })), true);
  assert.equal(matches(task({ stage: 'done' }), f({ state: 'live' })), false);
  assert.equal(matches(task({ stage: 'cancelled' }), f({ state: 'done' })), true);
  assert.equal(matches(task(), f({ state: 'blocked' })), false);
  assert.equal(matches(task({ blockedAt: new Date() }), f({ state: 'blocked' })), true);
  assert.equal(matches(task(), f({ repo: 'other' })), false);
  assert.equal(matches(task(), f({ q: 'GREET' })), true);
  assert.equal(matches(task(), f({ q: 'et-007' })), true);
  assert.equal(matches(task(), f({ q: 'farewell' })), false);
});
