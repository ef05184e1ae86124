import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { createTestConveyor } from '@conveyor/core/testing';
import { buildServer, createHostLifecycle, installSignalHandlers, type HostLifecycle } from '../src/server/index.js';
import { TOKEN } from './helpers.js';

const quiet = { info() {}, warn() {}, error() {} };

test('close() stops accepting requests, then stops the instance; a second call is safe and shares the result', async (t) => {
  const kit = await createTestConveyor({ config: { worker: { enabled: true } } });
  t.after(() => kit.cleanup());
  const server = await buildServer({ conveyor: kit.conveyor, token: TOKEN, version: '0', logger: { level: 'silent' } });
  await kit.conveyor.start();
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as { port: number };
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);

  const order: string[] = [];
  const conveyor = {
    stop: async (o?: { deadlineMs?: number }) => {
      order.push(`conveyor.stop(${o?.deadlineMs})`);
      await kit.conveyor.stop();
    },
  } as unknown as typeof kit.conveyor;
  const closeServer = server.close.bind(server);
  const lifecycle = createHostLifecycle({ server: { close: () => (order.push('server.close'), closeServer()) }, conveyor, logger: quiet, graceMs: 1234 });

  const [a, b] = await Promise.all([lifecycle.close('test'), lifecycle.close('again')]);
  assert.deepEqual(a, { timedOut: false });
  assert.equal(a, b);
  assert.equal(await lifecycle.close(), a);
  assert.equal(await lifecycle.closed, a);
  assert.equal(lifecycle.closing, true);
  assert.deepEqual(order, ['server.close', 'conveyor.stop(1234)']);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'the port no longer answers');
  await assert.rejects(kit.conveyor.start(), /stopped/);
});

test('close() on a real instance lets a running job finish within graceMs', async (t) => {
  const kit = await createTestConveyor({ config: { worker: { enabled: true } }, agent: () => ({ delayMs: 150 }) });
  t.after(() => kit.cleanup());
  const server = await buildServer({ conveyor: kit.conveyor, token: TOKEN, version: '0', logger: { level: 'silent' } });
  await kit.conveyor.start();
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '1', title: 'Slow' });
  await kit.events.waitFor('agent.started', (p) => p.job.taskId === task.id);
  const lifecycle = createHostLifecycle({ server, conveyor: kit.conveyor, logger: quiet, graceMs: 5000 });
  assert.deepEqual(await lifecycle.close(), { timedOut: false });
  assert.equal(kit.events.of('job.finished').filter((e) => e.job.taskId === task.id)[0]?.status, 'done', 'the job finished rather than being aborted');
});

test('graceMs, not worker.stopDeadlineMs, bounds how long running jobs may finish', async (t) => {
  const kit = await createTestConveyor({ config: { worker: { enabled: true, stopDeadlineMs: 60_000 } }, agent: () => ({ delayMs: 30_000 }) });
  t.after(() => kit.cleanup());
  const server = await buildServer({ conveyor: kit.conveyor, token: TOKEN, version: '0', logger: { level: 'silent' } });
  await kit.conveyor.start();
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: '2', title: 'Too slow' });
  await kit.events.waitFor('agent.started', (p) => p.job.taskId === task.id);
  const started = Date.now();
  assert.deepEqual(await createHostLifecycle({ server, conveyor: kit.conveyor, logger: server.log, graceMs: 50 }).close(), { timedOut: false });
  assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
  // The aborted agent counts as a transient failure: its job goes back to the queue for the next start.
  assert.equal(kit.events.of('job.retried').filter((e) => e.job.taskId === task.id).length, 1);
});

test('close() carries on past a failing step and still stops the instance', async () => {
  const errors: string[] = [];
  let stopped = 0;
  const lifecycle = createHostLifecycle({
    server: { close: async () => { throw new Error('already closed'); } },
    conveyor: {
      stop: async () => {
        stopped++;
        throw new Error('database gone');
      },
    } as never,
    logger: { ...quiet, error: (_o: object, msg?: string) => void errors.push(msg ?? '') },
    graceMs: 20,
  });
  assert.deepEqual(await lifecycle.close(), { timedOut: false });
  assert.equal(stopped, 1);
  assert.deepEqual(errors, ['HTTP server did not close cleanly', 'instance did not stop cleanly']);
});

test('close() gives up waiting after graceMs + forceAfterMs when the instance hangs, and never rejects', async () => {
  const errors: string[] = [];
  const lifecycle = createHostLifecycle({
    server: { close: async () => { throw new Error('already closed'); } },
    conveyor: { stop: () => new Promise<void>(() => {}) } as never,
    logger: { ...quiet, error: (_o: object, msg?: string) => void errors.push(msg ?? '') },
    graceMs: 20,
    forceAfterMs: 20,
  });
  assert.deepEqual(await lifecycle.close(), { timedOut: true });
  assert.deepEqual(errors, ['HTTP server did not close cleanly', 'shutdown did not finish in time; giving up waiting']);
});

test('SIGINT/SIGTERM start close() once; the handlers stay while it runs; a second signal removes them and forces; uninstall removes them', async () => {
  const target = new EventEmitter();
  const reasons: string[] = [];
  const forced: string[] = [];
  const lifecycle = { close: async (reason?: string) => (reasons.push(reason ?? ''), { timedOut: false }) } as Pick<HostLifecycle, 'close'>;
  installSignalHandlers(lifecycle, { target, onRepeat: (s) => void forced.push(s) });
  assert.equal(target.listenerCount('SIGINT'), 1);
  assert.equal(target.listenerCount('SIGTERM'), 1);
  target.emit('SIGTERM', 'SIGTERM');
  assert.deepEqual(reasons, ['SIGTERM']);
  assert.equal(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM'), 2, 'still listening: no other library may re-raise the signal mid-stop');
  target.emit('SIGINT', 'SIGINT');
  assert.deepEqual(reasons, ['SIGTERM'], 'close() is not started twice');
  assert.deepEqual(forced, ['SIGINT']);
  assert.equal(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM'), 0);

  const uninstall = installSignalHandlers(lifecycle, { target });
  uninstall();
  target.emit('SIGINT', 'SIGINT');
  assert.deepEqual(reasons, ['SIGTERM']);
  assert.equal(target.listenerCount('SIGINT'), 0);
});

test('installSignalHandlers defaults to the process and does not exit it', () => {
  const before = process.listenerCount('SIGTERM');
  const uninstall = installSignalHandlers({ close: async () => ({ timedOut: false }) });
  assert.equal(process.listenerCount('SIGTERM'), before + 1);
  uninstall();
  assert.equal(process.listenerCount('SIGTERM'), before);
});
