import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreTokens } from '../src/tokens.js';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { resolvePluginOrder } from '../src/plugin/resolve-order.js';
import { ConveyorError } from '../src/errors.js';
import { createTestConveyor } from '../src/testing/index.js';
import { fullPlugin } from './helpers.js';

const noop = (name: string, dependsOn: string[] = []) => definePlugin({ name, dependsOn, register() {} });

test('plugins are ordered after what they depend on, keeping the given order otherwise', () => {
  const order = resolvePluginOrder([noop('c', ['b']), noop('a'), noop('b', ['a']), noop('d')]).map((p) => p.name);
  assert.deepEqual(order, ['a', 'b', 'c', 'd']);
});

test('a dependency cycle is a startup error naming the plugins in the cycle', async () => {
  await assert.rejects(
    createTestConveyor({ plugins: [noop('alpha', ['gamma']), noop('beta', ['alpha']), noop('gamma', ['beta'])] }),
    (err: ConveyorError) => err.code === 'CONVEYOR_PLUGIN_CYCLE' && /alpha → gamma → beta → alpha/.test(err.message),
  );
});

test('a missing or disabled dependency is a startup error naming both plugins', async () => {
  await assert.rejects(createTestConveyor({ plugins: [noop('merge-gate', ['serial-gate'])] }), (err: ConveyorError) => {
    return err.code === 'CONVEYOR_PLUGIN_MISSING_DEPENDENCY' && err.message.includes('"merge-gate" depends on "serial-gate", which is not installed');
  });
  await assert.rejects(
    createTestConveyor({ plugins: [noop('serial-gate'), noop('merge-gate', ['serial-gate'])], config: { plugins: { 'serial-gate': { enabled: false } } } }),
    (err: ConveyorError) => err.message.includes('"merge-gate" depends on "serial-gate", which is disabled'),
  );
});

test('plugins register in dependency order, start in that order and stop last-in-first-out', async () => {
  const log: string[] = [];
  const kit = await createTestConveyor({ plugins: [fullPlugin('second', log, ['first']), fullPlugin('first', log)] });
  await kit.conveyor.start();
  await kit.cleanup();
  assert.deepEqual(log, ['register:first', 'register:second', 'start:first', 'start:second', 'stop:second', 'stop:first']);
});

test('stop() twice is safe and stops each plugin once', async () => {
  const log: string[] = [];
  const kit = await createTestConveyor({ plugins: [fullPlugin('only', log)] });
  await kit.conveyor.start();
  await Promise.all([kit.conveyor.stop(), kit.conveyor.stop()]);
  await kit.conveyor.stop();
  assert.equal(log.filter((l) => l === 'stop:only').length, 1);
  await kit.cleanup();
});

test('a disabled plugin leaves no listener, claim clause, gate, route, daemon, hook or finalizer behind', async () => {
  const counts = async (plugins: ReturnType<typeof fullPlugin>[], config: Record<string, unknown> = {}) => {
    const kit = await createTestConveyor({ plugins, config });
    const c = kit.conveyor;
    kit.events.dispose();
    const out = {
      listeners: c.events.listenerCount(),
      clauses: c.clauses.list().length,
      gates: c.gates.names().length,
      edge: c.gates.edge(c.pipeline, 'deploy-staging').length,
      routes: c.routes.length,
      daemons: c.extensions.daemons.length,
      snapshots: c.extensions.snapshots.length,
      hooks: c.hooks.count(),
      finalizers: c.finalizers.list().length,
      plugins: c.plugins.length,
    };
    await kit.cleanup();
    return out;
  };
  const log: string[] = [];
  const without = await counts([]);
  const disabled = await counts([fullPlugin('extra', log)], { plugins: { extra: { enabled: false } } });
  const enabled = await counts([fullPlugin('extra', log)]);
  assert.deepEqual(disabled, without);
  assert.notDeepEqual(enabled, without, 'the enabled plugin must add something, or this test proves nothing');
  assert.equal(enabled.routes, 1);
  assert.equal(enabled.clauses, 1);
  assert.equal(log.filter((l) => l === 'register:extra').length, 1, 'only the enabled instance registered it');
});

test('two instances in one process share nothing', async () => {
  const log: string[] = [];
  const a = await createTestConveyor({ plugins: [fullPlugin('p', log)] });
  const b = await createTestConveyor({ plugins: [fullPlugin('p', log)] });
  try {
    assert.notEqual(a.conveyor.container, b.conveyor.container);
    assert.notEqual(a.conveyor.container.resolve(CoreTokens.TaskStore), b.conveyor.container.resolve(CoreTokens.TaskStore));
    assert.notEqual(a.conveyor.container.resolve(CoreTokens.StageEngine), b.conveyor.container.resolve(CoreTokens.StageEngine));
    await a.conveyor.intake.startPipeline({ repo: 'r', trackerIssueId: '1', title: 'only in a' });
    assert.equal(a.events.of('task.created').length, 1);
    assert.equal(b.events.of('task.created').length, 0, 'events do not cross instances');
    assert.equal((await b.conveyor.store.tasks.list()).length, 0, 'stores do not cross instances');
    assert.deepEqual(log.filter((l) => l === 'event:p'), ['event:p']);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test('a plugin that throws while registering fails startup with its name and the cause', async () => {
  const boom = definePlugin({
    name: 'boom',
    register() {
      throw new Error('no webhook secret');
    },
  });
  await assert.rejects(createTestConveyor({ plugins: [boom] }), (err: ConveyorError) => {
    return err.code === 'CONVEYOR_PLUGIN_REGISTER' && err.message === 'plugin "boom" failed to register: no webhook secret' && (err.cause as Error).message === 'no webhook secret';
  });
});

test('a plugin that fails to start stops the ones already started and names itself', async () => {
  const log: string[] = [];
  const bad = definePlugin({
    name: 'bad-start',
    dependsOn: ['good'],
    register(ctx) {
      ctx.onStart(() => {
        throw new Error('port in use');
      });
    },
  });
  const kit = await createTestConveyor({ plugins: [fullPlugin('good', log), bad] });
  await assert.rejects(kit.conveyor.start(), /plugin "bad-start" failed to start: port in use/);
  assert.deepEqual(log, ['register:good', 'start:good', 'stop:good']);
  await kit.cleanup();
});

test('registries are frozen once the instance is composed', async () => {
  let saved: { gates: { register: (g: never) => void } } | null = null;
  const sneaky = definePlugin({
    name: 'sneaky',
    register(ctx) {
      saved = ctx as never;
    },
  });
  const kit = await createTestConveyor({ plugins: [sneaky] });
  try {
    assert.throws(() => saved!.gates.register({ name: 'late', description: '', check: async () => ({ verdict: 'pass' }) } as never), /frozen/);
  } finally {
    await kit.cleanup();
  }
});

test('definePlugin rejects bad names, misnamed migrations and redeclared base keys', () => {
  assert.throws(() => definePlugin({ name: 'Serial_Gate', register() {} }), /kebab-case/);
  assert.throws(() => definePlugin({ name: 'x', migrations: [{ name: 'core/0002', up: async () => {} }], register() {} }), /must be named "x\/NNNN_what"/);
});

test('a plugin can bind a port that core then uses', async () => {
  const seen: string[] = [];
  const notifier = definePlugin({
    name: 'notifier-test',
    register(ctx) {
      ctx.provide(CoreTokens.Notifier, { name: 'n', notify: async (n: { text: string }) => void seen.push(n.text) });
    },
  });
  const kit = await createTestConveyor({ plugins: [notifier], fakes: false });
  try {
    const ports = kit.conveyor.container.resolve<{ notifier(): { name: string } | null; forge(): unknown }>(CoreTokens.Ports);
    assert.equal(ports.notifier()?.name, 'n');
    assert.equal(ports.forge(), null, 'an unbound port reads as null');
  } finally {
    await kit.cleanup();
  }
});

test('a daemon that fails to start stops what started and names its plugin', async () => {
  const log: string[] = [];
  const broken = definePlugin({
    name: 'broken-daemon',
    register(ctx) {
      ctx.onStop(() => void log.push('stop:broken-daemon'));
      ctx.addDaemon({ name: 'sweeper', start: () => Promise.reject(new Error('no such table')), stop: () => {} });
    },
  });
  const kit = await createTestConveyor({ plugins: [fullPlugin('good', log), broken] });
  await assert.rejects(kit.conveyor.start(), /plugin "broken-daemon" failed to start daemon "sweeper": no such table/);
  assert.deepEqual(log, ['register:good', 'start:good', 'stop:broken-daemon', 'stop:good']);
  assert.equal(kit.conveyor.extensions.daemons.find((d) => d.plugin === 'good')!.daemon.running, false, 'the started daemon was stopped');
  await kit.cleanup();
});

test('a sub-gate that rolls back to an unknown stage is a startup error', async () => {
  const typo = definePlugin({
    name: 'typo',
    register(ctx) {
      ctx.gates.register({ name: 'typo_gate', description: '', check: async () => ({ verdict: 'pass' }) });
      ctx.gates.splice('deploy-staging', 'typo_gate', { rollbackTo: 'developement' });
    },
  });
  await assert.rejects(createTestConveyor({ plugins: [typo] }), /plugin "typo" rolls "typo_gate" back to unknown stage "developement"/);
});

test('without a notifier plugin, notifications go to the log', async () => {
  const kit = await createTestConveyor({ fakes: false });
  try {
    const ports = kit.conveyor.container.resolve<{ notifier(): { name: string; notify(n: object): Promise<void> } | null }>(CoreTokens.Ports);
    assert.equal(ports.notifier()?.name, 'log');
    await ports.notifier()!.notify({ kind: 'alert', text: 'repo frozen' });
    assert.ok(kit.logger.lines.some((l) => l.level === 'warn' && l.msg === 'repo frozen'));
  } finally {
    await kit.cleanup();
  }
});

test('two plugins binding the same port is a startup error naming both; opt-in plugins default to disabled', async () => {
  const tracker = (name: string) => definePlugin({ name, register: (ctx) => ctx.provide(CoreTokens.Tracker, { name, setStatus: async () => {}, addComment: async () => {} }) });
  await assert.rejects(createTestConveyor({ plugins: [tracker('tracker-a'), tracker('tracker-b')] }), /plugins "tracker-a" and "tracker-b" both provide Symbol\(conveyor\.port\.Tracker\); disable one/);
  const optIn = definePlugin({ name: 'needs-secrets', enabledByDefault: false, register: () => { throw new Error('must not register'); } });
  const kit = await createTestConveyor({ plugins: [optIn] });
  try {
    assert.deepEqual(kit.conveyor.plugins, []);
    assert.equal(kit.conveyor.config.plugins['needs-secrets']!.enabled, false);
  } finally {
    await kit.cleanup();
  }
});
