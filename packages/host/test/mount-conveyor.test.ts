import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { OwnedRoute } from '@conveyor/core';
import { createTestConveyor } from '@conveyor/core/testing';
import { mountConveyor } from '../src/server/index.js';
import { AUTH, TOKEN } from './helpers.js';

test('mountConveyor serves every core route with JSON errors and auth inside an embedder\'s app, leaving its own routes, errors and 404s alone', async (t) => {
  const kit = await createTestConveyor();
  const app = Fastify();
  t.after(async () => {
    await app.close();
    await kit.cleanup();
  });
  app.get('/mine', async () => {
    throw Object.assign(new Error('mine failed'), { statusCode: 418 });
  });
  app.setErrorHandler((err, _req, reply) => reply.code(418).send({ embedder: (err as Error).message }));
  await mountConveyor(app, { conveyor: kit.conveyor, token: TOKEN, prefix: '/conveyor' });

  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'I-1', title: 'Fix login' });
  const shown = await app.inject({ method: 'GET', url: `/conveyor/tasks/${task.id}` });
  assert.equal(shown.statusCode, 200);
  assert.equal(shown.json().task.workItemId, task.workItemId);
  assert.deepEqual((await app.inject({ method: 'GET', url: '/conveyor/tasks/999' })).json(), { error: 'not_found', message: 'task 999 does not exist' });
  assert.equal((await app.inject({ method: 'GET', url: '/conveyor/tasks/x' })).json().message, 'params/id must be integer');
  assert.equal((await app.inject({ method: 'GET', url: '/conveyor/health' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: `/conveyor/tasks/${task.id}/stop` })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: `/conveyor/tasks/${task.id}/stop`, headers: AUTH })).statusCode, 409, 'no cancel plugin: a JSON conflict, not the embedder\'s handler');
  assert.deepEqual((await app.inject({ method: 'GET', url: '/mine' })).json(), { embedder: 'mine failed' }, "the app's own error handler still answers its routes");
  assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).json().message, 'Route GET:/nowhere not found', "unknown paths are the app's 404");
});

test('mountConveyor enforces the same access as buildServer: the token on every route that changes state, on reads too with readAuth token, on the logs always', async (t) => {
  const kit = await createTestConveyor();
  const open = Fastify();
  const guarded = Fastify();
  t.after(async () => {
    await open.close();
    await guarded.close();
    await kit.cleanup();
  });
  await mountConveyor(open, { conveyor: kit.conveyor, token: TOKEN, readAuth: 'none' });
  await mountConveyor(guarded, { conveyor: kit.conveyor, token: TOKEN, readAuth: 'token', prefix: '/conveyor' });
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme/app', trackerIssueId: 'I-2', title: 'Fix logout' });

  for (const app of [open, guarded]) {
    const base = app === guarded ? '/conveyor' : '';
    const stop = await app.inject({ method: 'POST', url: `${base}/tasks/${task.id}/stop` });
    assert.equal(stop.statusCode, 401, 'a mutating route without the token');
    assert.equal(stop.json().error, 'unauthorized');
    assert.equal((await app.inject({ method: 'POST', url: `${base}/tasks/${task.id}/stop`, headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode, 401, 'a wrong token');
    assert.equal((await app.inject({ method: 'GET', url: `${base}/tasks/${task.id}/logs` })).statusCode, 401, 'the logs need the token whatever readAuth says');
    assert.equal((await app.inject({ method: 'GET', url: `${base}/tasks/${task.id}/logs`, headers: AUTH })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: `${base}/health` })).statusCode, 200, '/health stays open');
  }
  assert.equal((await open.inject({ method: 'GET', url: `/tasks/${task.id}` })).statusCode, 200, 'readAuth none: reads are open');
  assert.notEqual((await open.inject({ method: 'GET', url: `/tasks/${task.id}/artefacts/analysis` })).statusCode, 401);
  for (const url of [`/conveyor/tasks/${task.id}`, '/conveyor/tasks', '/conveyor/queue', '/conveyor/status', `/conveyor/tasks/${task.id}/artefacts/analysis`]) {
    const anonymous = await guarded.inject({ method: 'GET', url });
    assert.equal(anonymous.statusCode, 401, `readAuth token: ${url} without the token`);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="conveyor"');
    assert.notEqual((await guarded.inject({ method: 'GET', url, headers: AUTH })).statusCode, 401, `${url} with the token`);
  }
});

test('mountConveyor refuses a plugin route that changes state without the token, as buildServer does', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  const sneaky: OwnedRoute = { plugin: 'sneaky', method: 'POST', url: '/sneaky', auth: 'none', handler: async () => ({ status: 200 }) };
  const conveyor = Object.create(kit.conveyor, { routes: { value: [...kit.conveyor.routes, sneaky] } }) as typeof kit.conveyor;
  await assert.rejects(mountConveyor(Fastify(), { conveyor, token: TOKEN }), /plugin "sneaky" route POST \/sneaky cannot be mounted: route POST \/sneaky changes state but has auth "none"/);
});

test('mountConveyor refuses a short token', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  await assert.rejects(mountConveyor(Fastify(), { conveyor: kit.conveyor, token: 'short' }), /at least 16/);
});
