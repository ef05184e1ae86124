import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@conveyor/core';
import { BUNDLED_PLUGINS } from '../src/all-bundled-plugins.js';
import { BUNDLED_PLUGIN_MANIFEST } from '../src/bundled-manifest.js';
import { loadHostConfig } from '../src/cli/host-config.js';
import { loadBundledPlugins } from '../src/config/bundled-plugins.js';
import { startHost as startServer } from './helpers.js';
import { startHost, tmpDir } from './spawn-cli.js';

const real = new Map(BUNDLED_PLUGINS.map((p) => [p.name, p]));
/** Which of `plugins` are the imported bundled plugin itself (the rest are stand-ins). */
const imported = (plugins: readonly { name: string }[]) => plugins.filter((p) => real.get(p.name) === p).map((p) => p.name);
const OFF_BY_DEFAULT = BUNDLED_PLUGIN_MANIFEST.filter((e) => !e.enabledByDefault).map((e) => e.name);

test('the manifest names every bundled plugin, in order, with the default and the off routes the plugin itself declares', async () => {
  assert.deepEqual(BUNDLED_PLUGIN_MANIFEST.map((e) => e.name), BUNDLED_PLUGINS.map((p) => p.name));
  assert.ok(OFF_BY_DEFAULT.includes('agent-claude') && OFF_BY_DEFAULT.length >= 5, OFF_BY_DEFAULT.join(', '));
  for (const entry of BUNDLED_PLUGIN_MANIFEST) {
    const plugin = await entry.load();
    assert.equal(plugin, real.get(entry.name), `${entry.name} loads the bundled plugin`);
    assert.equal(entry.enabledByDefault, plugin.enabledByDefault ?? true, `${entry.name} enabledByDefault`);
    assert.deepEqual(entry.offRoutes ?? [], plugin.offRoutes ?? [], `${entry.name} offRoutes`);
  }
});

test('a bundled plugin is imported when it is on, or when the file or the environment sets a key of its own; one surely off is a stand-in', async () => {
  const defaults = await loadBundledPlugins({}, { env: {} });
  assert.deepEqual(defaults.map((p) => p.name), BUNDLED_PLUGIN_MANIFEST.map((e) => e.name));
  assert.deepEqual(imported(defaults), BUNDLED_PLUGIN_MANIFEST.filter((e) => e.enabledByDefault).map((e) => e.name));

  const raw = {
    plugins: {
      'agent-claude': { enabled: false },
      lessons: { enabled: false },
      'merge-gate': { enabled: true },
      'tracker-plane': { enabled: false, baseUrl: 'http://plane.example' },
      'coverage-gate': { enabled: '${COVERAGE_ON}' },
    },
  };
  const env = { CONVEYOR_PLUGINS_SERIAL_GATE_ENABLED: 'yes', CONVEYOR_PLUGINS_FORGE_GITEA_BASE_URL: 'http://gitea.example', CONVEYOR_PLUGINS_REAPER_ENABLED: 'off', CONVEYOR_PLUGINS_TELEGRAM_TRACKER_ENABLED: 'false' };
  const chosen = await loadBundledPlugins(raw, { env });
  const got = new Set(imported(chosen));
  for (const name of ['merge-gate', 'tracker-plane', 'coverage-gate', 'serial-gate', 'forge-gitea', 'tracker-local']) assert.ok(got.has(name), `${name} is imported`);
  for (const name of ['agent-claude', 'lessons', 'reaper', 'telegram-tracker']) assert.ok(!got.has(name), `${name} is a stand-in`);
  const lessons = chosen.find((p) => p.name === 'lessons')!;
  assert.deepEqual(lessons.offRoutes, ['/lessons'], 'a stand-in keeps the off routes');
  assert.throws(() => lessons.register({} as never), /disabled and was not loaded/);

  assert.deepEqual(imported(await loadBundledPlugins(raw, { env, all: true })), BUNDLED_PLUGINS.map((p) => p.name));
});

test('a disabled bundled plugin is validated as before: its own keys against its schema, a stand-in section holds enabled and repos', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'conveyor.config.yaml');
  fs.writeFileSync(file, 'database:\n  filename: ./c.db\nplugins:\n  tracker-plane:\n    enabled: false\n    nosuchkey: 1\n');
  await assert.rejects(loadHostConfig({ config: file, env: {} }), (err: ConfigError) => err instanceof ConfigError && /plugins\.tracker-plane\.nosuchkey/.test(err.message));
  fs.writeFileSync(file, 'database:\n  filename: ./c.db\nplugins:\n  agent-claude:\n    enabled: false\n');
  const hc = await loadHostConfig({ config: file, env: {} });
  assert.deepEqual(imported(hc.plugins).filter((n) => OFF_BY_DEFAULT.includes(n)), []);
  assert.deepEqual({ ...hc.config.plugins['agent-claude'] }, { enabled: false, repos: [] });
  assert.equal(hc.config.plugins['tracker-plane']!.enabled, false);
  // `config check` shows every section in full: every bundled plugin imported.
  const full = await loadHostConfig({ config: file, env: {}, allBundled: true });
  assert.deepEqual(imported(full.plugins), BUNDLED_PLUGINS.map((p) => p.name));
  assert.equal(full.config.plugins['agent-claude']!.enabled, false);
});

test("a disabled bundled plugin left as a stand-in still answers its off routes", async (t) => {
  const plugins = await loadBundledPlugins({ plugins: { lessons: { enabled: false } } }, { env: {} });
  assert.ok(!imported(plugins).includes('lessons'));
  const { app } = await startServer(t, { plugins, fakes: false, config: { repos: { demo: {} }, plugins: { lessons: { enabled: false } } } }, { readAuth: 'none' });
  const res = await app.inject({ method: 'GET', url: '/lessons' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { enabled: false });
});

test('`conveyor start` never imports the module of a bundled plugin that is off', async (t) => {
  const dir = tmpDir(t);
  const record = path.join(dir, 'imports.txt');
  // A module hook that writes down every module the host loads.
  fs.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';\nexport async function load(url, context, next) {\n  fs.appendFileSync(${JSON.stringify(record)}, url + '\\n');\n  return next(url, context);\n}\n`);
  fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
  fs.writeFileSync(path.join(dir, 'conveyor.config.yaml'), 'instance:\n  dataDir: ./data\ndatabase:\n  filename: ./data/conveyor.db\nhost:\n  address: 127.0.0.1\nplugins:\n  merge-gate:\n    enabled: true\n  metrics:\n    enabled: false\n');
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(path.join(dir, 'register.mjs')).href}`.trim(), CONVEYOR_LOG_LEVEL: 'warn' };
  const host = await startHost(t, { cwd: dir, env }, '--config', path.join(dir, 'conveyor.config.yaml'), '--port', '0');
  const loaded = fs.readFileSync(record, 'utf8');
  await host.stop();
  const pluginModules = new Set([...loaded.matchAll(/\/packages\/plugins\/([a-z-]+)\/dist\//g)].map((m) => m[1]!));
  // The hook sees the plugins that are on (so it can see a plugin's module at all)...
  for (const name of ['reaper', 'tracker-local', 'merge-gate']) assert.ok(pluginModules.has(name), `${name} is on and imported (${[...pluginModules].join(', ')})`);
  // ...and none of those that are off, by default or by the file.
  for (const name of [...OFF_BY_DEFAULT.filter((n) => n !== 'merge-gate'), 'metrics']) assert.ok(!pluginModules.has(name), `${name} is off and was not imported`);
});
