import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { buildConfigSchema, redactConfig, resolveConfig } from '../src/config/resolve-config.js';
import { configKeys, schemaAt } from '../src/config/schema-walk.js';
import { findConfigFile, readConfigFile } from '../src/config/load-config-file.js';
import { ConfigError } from '../src/errors.js';
import { definePlugin } from '../src/plugin/define-plugin.js';
import { envOverridesThatFail } from '../src/testing/config-env.js';

const serialGate = definePlugin({
  name: 'serial-gate',
  configSchema: Type.Object({
    freezeEnabled: Type.Boolean({ default: true, description: 'freeze on degraded deploys' }),
    webhookSecret: Type.Optional(Type.String({ secret: true, description: 'secret' })),
  }),
  register() {},
});

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

test('defaults fill an empty config and the result is frozen', () => {
  const c = resolveConfig({}, [serialGate], { env: {} });
  assert.equal(c.database.client, 'sqlite');
  assert.equal(c.worker.maxConcurrency, 2);
  assert.equal(c.plugins['serial-gate']!.enabled, true);
  assert.deepEqual(c.plugins['serial-gate']!.repos, []);
  assert.equal(c.plugins['serial-gate']!.freezeEnabled, true);
  assert.ok(Object.isFrozen(c.worker));
  assert.throws(() => {
    (c.worker as { maxConcurrency: number }).maxConcurrency = 9;
  });
});

test('errors name the path, what was expected and what was found, all at once', () => {
  const issues = issuesOf(() =>
    resolveConfig({ worker: { maxConcurrency: 0 }, database: { client: 'mysql' }, plugins: { 'serial-gate': { repos: ['ok', 42] } } }, [serialGate], { env: {} }),
  );
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
  assert.deepEqual(byPath['worker.maxConcurrency'], { path: 'worker.maxConcurrency', expected: 'integer ≥ 1', found: '0' });
  assert.equal(byPath['database.client']!.expected, 'one of "sqlite", "pg"');
  assert.equal(byPath['database.client']!.found, '"mysql"');
  assert.equal(byPath['plugins.serial-gate.repos[1]']!.expected, 'string');
  assert.equal(byPath['plugins.serial-gate.repos[1]']!.found, '42');
});

test('an unknown key and an unknown plugin section are errors listing the known keys', () => {
  const issues = issuesOf(() => resolveConfig({ workr: {}, plugins: { 'serial-gat': {} } }, [serialGate], { env: {} }));
  assert.ok(issues.some((i) => i.path === 'workr' && i.expected.startsWith('no such key (known keys: instance, database, host, workspaces, worker')));
  assert.ok(issues.some((i) => i.path === 'plugins.serial-gat' && i.expected.includes('serial-gate')));
});

test('${ENV} is interpolated; a missing variable is an error naming it', () => {
  const c = resolveConfig({ database: { client: 'pg', url: '${DB_URL}' } }, [], { env: { DB_URL: 'postgres://u:p@h/db' } });
  assert.equal(c.database.url, 'postgres://u:p@h/db');
  const issues = issuesOf(() => resolveConfig({ database: { url: '${NOPE_URL}' } }, [], { env: {} }));
  assert.deepEqual(issues[0], { path: 'database.url', expected: 'environment variable NOPE_URL to be set', found: 'it unset' });
});

test('a secret written as a literal in the file is refused, and never echoed', () => {
  const issues = issuesOf(() => resolveConfig({ database: { url: 'postgres://u:hunter2@h/db' } }, [], { env: {} }));
  assert.equal(issues[0]!.path, 'database.url');
  assert.match(issues[0]!.expected, /CONVEYOR_DATABASE_URL/);
  assert.ok(!JSON.stringify(issues).includes('hunter2'));
});

test('printing the effective config redacts every secret', () => {
  const c = resolveConfig({ database: { url: '${DB}' }, plugins: { 'serial-gate': { webhookSecret: '${S}' } } }, [serialGate], { env: { DB: 'postgres://x:pw@h/d', S: 'topsecret' } });
  const printed = JSON.stringify(redactConfig(c, [serialGate]));
  assert.ok(!printed.includes('pw@') && !printed.includes('topsecret'));
  assert.match(printed, /\[redacted\]/);
});

test('every documented CONVEYOR_ variable really controls its key', () => {
  const keys = configKeys(buildConfigSchema([serialGate]));
  assert.ok(keys.length > 20, 'the schema lists its keys');
  assert.deepEqual(envOverridesThatFail([serialGate]), []);
  assert.ok(keys.some((k) => k.env === 'CONVEYOR_PLUGINS_SERIAL_GATE_ENABLED'));
  assert.ok(keys.some((k) => k.env === 'CONVEYOR_WORKER_MAX_CONCURRENCY'));
});

test('the env check itself catches a variable that does not reach its key', () => {
  // A schema key whose variable is shadowed: set both spellings, the check must notice one is ignored.
  const shadow = definePlugin({ name: 'shadow', configSchema: Type.Object({ level: Type.Integer({ default: 1, maximum: 3 }) }), register() {} });
  assert.equal(envOverridesThatFail([shadow]).filter((f) => f.startsWith('CONVEYOR_PLUGINS_SHADOW_LEVEL')).length, 1, 'a value the schema refuses is reported, not passed');
});

test('an environment override that does not fit the type is an error, not a silent default', () => {
  const issues = issuesOf(() => resolveConfig({}, [], { env: { CONVEYOR_WORKER_MAX_CONCURRENCY: 'lots' } }));
  assert.deepEqual(issues[0], { path: 'worker.maxConcurrency', expected: 'integer ≥ 1', found: '"lots"' });
});

test('YAML and JSON files are read; the default names are found; a broken file names itself', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cfg-'));
  try {
    fs.writeFileSync(path.join(dir, 'conveyor.config.yaml'), 'worker:\n  maxConcurrency: 4\n');
    assert.equal(findConfigFile(dir), path.join(dir, 'conveyor.config.yaml'));
    assert.equal(resolveConfig(readConfigFile(path.join(dir, 'conveyor.config.yaml')), [], { env: {} }).worker.maxConcurrency, 4);
    fs.writeFileSync(path.join(dir, 'c.json'), '{"worker": {"maxConcurrency": 3}}');
    assert.equal(resolveConfig(readConfigFile(path.join(dir, 'c.json')), [], { env: {} }).worker.maxConcurrency, 3);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'worker: [unclosed');
    assert.throws(() => readConfigFile(path.join(dir, 'bad.yaml')), /bad\.yaml is not valid YAML/);
    assert.throws(() => resolveConfig([1, 2], [], { env: {} }), /expected an object/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a CONVEYOR_PLUGINS_ variable of a plugin this host does not know is reported, not ignored", () => {
  const serialGateOnly = definePlugin({ name: 'serial-gate', register() {} });
  const issues = issuesOf(() => resolveConfig({}, [serialGateOnly], { env: { CONVEYOR_PLUGINS_CANCEL_ENABLED: 'true', CONVEYOR_PLUGINS_SERIAL_GATE_ENABLED: 'false' } }));
  assert.deepEqual(issues.map((i) => [i.path, i.found]), [['CONVEYOR_PLUGINS_CANCEL_ENABLED', 'no such plugin']]);
  assert.match(issues[0]!.expected, /a variable of a plugin this host knows \(serial-gate\); install and list the plugin, or unset it/);
  // Known plugins' variables pass.
  assert.equal(resolveConfig({}, [serialGateOnly], { env: { CONVEYOR_PLUGINS_SERIAL_GATE_ENABLED: 'false' } }).plugins['serial-gate']!.enabled, false);
});
