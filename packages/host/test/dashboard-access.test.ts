import assert from 'node:assert/strict';
import { test } from 'node:test';
import 'reflect-metadata';
import { testDatabases } from '@conveyor/core/testing';
import { dashboardPlugin } from '@conveyor/plugin-dashboard';
import type { ConveyorPlugin } from '@conveyor/core';
import { routeAccessTable } from '../src/server/index.js';
import { AUTH, startHost } from './helpers.js';

const plugins = [dashboardPlugin as unknown as ConveyorPlugin];

for (const dialect of testDatabases()) {
  test(`[${dialect}] with reads behind the token, /ui is a shell without data and its fragment needs the token`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, plugins }, { readAuth: 'token' });
    await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: 'A title only readers may see' });
    const page = await app.inject({ method: 'GET', url: '/ui' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /script-src 'self'/);
    assert.match(page.body, /data-needs-token="true"/);
    assert.doesNotMatch(page.body, /A title only readers may see/);
    const refused = await app.inject({ method: 'GET', url: '/ui/fragment/tasks' });
    assert.equal(refused.statusCode, 401);
    const fragment = await app.inject({ method: 'GET', url: '/ui/fragment/tasks', headers: AUTH });
    assert.equal(fragment.statusCode, 200);
    assert.match(fragment.body, /A title only readers may see/);
    const check = await app.inject({ method: 'GET', url: '/ui/token-check', headers: { authorization: 'Bearer wrong-token-00000000000' } });
    assert.equal(check.statusCode, 401);
    assert.equal(JSON.parse(check.body).message, 'invalid bearer token');
    assert.equal((await app.inject({ method: 'GET', url: '/ui/token-check', headers: AUTH })).statusCode, 200);
    const asset = await app.inject({ method: 'GET', url: '/ui/assets/dashboard.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['content-type'] as string, /^text\/javascript/);
    const table = routeAccessTable(app).filter((r) => r.method === 'GET' && r.url.startsWith('/ui'));
    assert.deepEqual(table.filter((r) => r.access === 'public').map((r) => r.url).sort(), ['/ui', '/ui/assets/dashboard.css', '/ui/assets/dashboard.js', '/ui/cost', '/ui/queue', '/ui/tasks/:id']);
  });

  test(`[${dialect}] with reads open, /ui renders the tasks on the server; bad input is a clear 400; an unknown task a 404 page`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, plugins }, { readAuth: 'none' });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: '1', title: '<script>alert(1)</script>' });
    const page = await app.inject({ method: 'GET', url: '/ui?state=live&q=script' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`data-task-id="${task.id}"`));
    assert.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(page.body, /<script>alert/);
    const none = await app.inject({ method: 'GET', url: '/ui?state=done' });
    assert.match(none.body, /id="no-tasks"/);
    const bad = await app.inject({ method: 'GET', url: '/ui?state=sideways' });
    assert.equal(bad.statusCode, 400);
    assert.equal(JSON.parse(bad.body).message, 'querystring/state must be equal to one of the allowed values: "all", "live", "blocked", "done"');
    const missing = await app.inject({ method: 'GET', url: '/ui/tasks/999' });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.body, /Task 999 does not exist/);
    await kit.conveyor.store.ciStatuses.record({ repo: 'acme/app', sha: 'a'.repeat(40), branch: task.branch, context: 'ci/old', state: 'success', targetUrl: null, updatedAt: new Date(Date.now() - 60_000) });
    await kit.conveyor.store.ciStatuses.record({ repo: 'acme/app', sha: 'b'.repeat(40), branch: task.branch, context: 'ci/test', state: 'failure', targetUrl: 'javascript:alert(1)' });
    await kit.conveyor.store.ciStatuses.record({ repo: 'acme/app', sha: 'c'.repeat(40), branch: 'another-branch', context: 'ci/test', state: 'error', targetUrl: null });
    const detail = await app.inject({ method: 'GET', url: `/ui/tasks/${task.id}` });
    assert.equal(detail.statusCode, 200);
    assert.match(detail.body, /data-action="stop"/);
    const ci = /<ul class="ci">(.*?)<\/ul>/s.exec(detail.body)?.[1] ?? '';
    assert.deepEqual([...ci.matchAll(/data-state="(\w+)"/g)].map((m) => m[1]), ['failure', 'success'], 'the branch\'s statuses, newest first');
    assert.doesNotMatch(detail.body, /href="javascript/);
    for (const url of ['/ui/queue', '/ui/cost']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  });
}
