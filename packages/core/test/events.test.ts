import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBus } from '../src/events/event-bus.js';
import { createTestConveyor, RecordingLogger } from '../src/testing/index.js';
import { definePlugin } from '../src/plugin/define-plugin.js';

test('a throwing listener is caught, logged and reported; the others still run', async () => {
  const logger = new RecordingLogger();
  const bus = new EventBus(logger);
  const seen: string[] = [];
  const reported: string[] = [];
  bus.on('listener.error', (e) => void reported.push(`${e.event}: ${e.error.message}`));
  bus.on('loop.error', () => {
    throw new Error('sync boom');
  });
  bus.on('loop.error', async () => {
    throw new Error('async boom');
  });
  bus.on('loop.error', () => void seen.push('third'));
  assert.doesNotThrow(() => bus.emit('loop.error', { loop: 'x', error: new Error('e'), consecutive: 1 }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['third']);
  assert.deepEqual(reported.sort(), ['loop.error: async boom', 'loop.error: sync boom']);
  assert.equal(logger.lines.filter((l) => l.level === 'error' && l.msg === 'event listener failed').length, 2);
});

test('a throwing listener.error listener does not loop', () => {
  const bus = new EventBus(new RecordingLogger());
  let calls = 0;
  bus.on('listener.error', () => {
    calls++;
    throw new Error('again');
  });
  bus.on('task.done', () => {
    throw new Error('first');
  });
  bus.emit('task.done', { task: {} as never });
  assert.equal(calls, 1);
});

test('off removes exactly the listener it was given', () => {
  const bus = new EventBus(new RecordingLogger());
  const seen: number[] = [];
  const a = () => void seen.push(1);
  const off = bus.on('task.done', a);
  bus.on('task.done', () => void seen.push(2));
  off();
  bus.emit('task.done', { task: {} as never });
  assert.deepEqual(seen, [2]);
  assert.equal(bus.listenerCount('task.done'), 1);
});

test('a plugin listener that throws cannot break task creation', async () => {
  const angry = definePlugin({
    name: 'angry',
    register(ctx) {
      ctx.on('task.created', () => {
        throw new Error('observer failed');
      });
    },
  });
  const kit = await createTestConveyor({ plugins: [angry] });
  try {
    const res = await kit.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '7', title: 'Still created' });
    assert.equal(res.created, true);
    assert.ok(await kit.conveyor.store.tasks.get(res.task.id));
    assert.equal(kit.events.of('listener.error')[0]?.error.message, 'observer failed');
  } finally {
    await kit.cleanup();
  }
});
