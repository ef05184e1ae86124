import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
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
  assert.equal((await app.inject({ method: 'POST', url: `/conveyor/tasks/${task.id}/stop`, headers: AUTH })).statusCode, 202);
  assert.deepEqual((await app.inject({ method: 'GET', url: '/mine' })).json(), { embedder: 'mine failed' }, "the app's own error handler still answers its routes");
  assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).json().message, 'Route GET:/nowhere not found', "unknown paths are the app's 404");
});

test('mountConveyor refuses a short token', async (t) => {
  const kit = await createTestConveyor();
  t.after(() => kit.cleanup());
  await assert.rejects(mountConveyor(Fastify(), { conveyor: kit.conveyor, token: 'short' }), /at least 16/);
});
