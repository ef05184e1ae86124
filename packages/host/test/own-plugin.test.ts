import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openDatabase } from '@conveyor/core';
import { cli, startHost, tmpDir } from './spawn-cli.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A plugin written as docs/plugin-authoring.md says, outside the repository's
 * packages: a config key, a table and a read-only route. Importing it leaves a
 * marker file, so a test can tell whether the host loaded it at all.
 */
const WIP_GATE = `import fs from 'node:fs';
import { Type } from '@sinclair/typebox';
import { definePlugin } from '@conveyor/core';

fs.writeFileSync(new URL('./imported', import.meta.url), 'yes');

export const wipGatePlugin = definePlugin({
  name: 'wip-gate',
  configSchema: Type.Object({ limit: Type.Integer({ minimum: 1, default: 3, description: 'Tasks in development at once.' }) }),
  migrations: [{ name: 'wip-gate/0001_counts', async up(knex) { await knex.schema.createTable('wip_gate_counts', (t) => t.string('repo').primary()); } }],
  register(ctx) {
    ctx.addRoute({ method: 'GET', url: '/wip-gate', auth: 'none', description: 'The limit.', async handler() { return { status: 200, body: { limit: ctx.config.limit } }; } });
  },
});
`;

/**
 * A project outside the repository: `node_modules` links to the packages a plugin
 * author installs (@conveyor/core, @sinclair/typebox), the plugin under
 * `plugins/wip-gate/`, the config under `conf/` with its data dir beside it.
 */
function project(t: Parameters<typeof tmpDir>[0]): { dir: string; conf: string; marker: string; write(plugins: string): void } {
  const dir = tmpDir(t, 'conveyor-own-plugin-');
  fs.mkdirSync(path.join(dir, 'node_modules', '@conveyor'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules', '@sinclair'), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'packages', 'core'), path.join(dir, 'node_modules', '@conveyor', 'core'), 'dir');
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, 'node_modules', '@sinclair', 'typebox')), path.join(dir, 'node_modules', '@sinclair', 'typebox'), 'dir');
  const pluginDir = path.join(dir, 'plugins', 'wip-gate');
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(path.join(pluginDir, 'index.js'), WIP_GATE);
  fs.writeFileSync(path.join(pluginDir, 'package.json'), '{ "name": "conveyor-plugin-wip-gate", "type": "module", "exports": { "import": "./index.js" } }\n');
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(path.join(conf, 'sub'), { recursive: true });
  const base = 'instance:\n  dataDir: ../state\nplugins:\n  agent-script:\n    defaultCommand: "true"\n';
  return { dir, conf, marker: path.join(pluginDir, 'imported'), write: (plugins) => fs.writeFileSync(path.join(conf, 'conveyor.config.yaml'), `${base}${plugins}`) };
}

test('a plugin of your own, named by a path relative to the config file, is validated like a bundled one, loaded at start, and answers its route', { timeout: 60_000 }, async (t) => {
  const p = project(t);
  p.write('  wip-gate:\n    module: ../plugins/wip-gate/index.js\n    limit: 0\n    nope: 1\n');
  // From a subdirectory: the CLI finds the config upward, the module against the file.
  const bad = cli(path.join(p.conf, 'sub'), 'config', 'check');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /plugins\.wip-gate\.limit: expected integer ≥ 1, found 0/);
  assert.match(bad.stderr, /plugins\.wip-gate\.nope: expected no such key \(known keys: enabled, repos, module, limit\)/);

  p.write('  wip-gate:\n    module: ../plugins/wip-gate/index.js\n    limit: 5\n');
  const ok = cli(path.join(p.conf, 'sub'), 'config', 'check', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as { plugins: Record<string, unknown> }).plugins['wip-gate'], { module: '../plugins/wip-gate/index.js', limit: 5, enabled: true, repos: [] });

  const host = await startHost(t, path.join(p.conf, 'sub'), '--port', '0');
  assert.match(host.stderr(), /plugins: [^)]*wip-gate/);
  const res = await fetch(`${host.url}/wip-gate`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { limit: 5 });
  const status = (await (await fetch(`${host.url}/status`)).json()) as { plugins: string[] };
  assert.ok(status.plugins.includes('wip-gate'), JSON.stringify(status.plugins));
  assert.equal(await host.stop(), 0, host.stderr());
});

test('`enabled: false` leaves no trace of a plugin of your own: not imported, no route, no table, no migration', { timeout: 60_000 }, async (t) => {
  const p = project(t);
  p.write('  wip-gate:\n    module: ../plugins/wip-gate/index.js\n    enabled: false\n    limit: 5\n');
  const host = await startHost(t, p.conf, '--port', '0');
  assert.equal((await fetch(`${host.url}/wip-gate`)).status, 404);
  const status = (await (await fetch(`${host.url}/status`)).json()) as { plugins: string[] };
  assert.ok(!status.plugins.includes('wip-gate'));
  assert.equal(await host.stop(), 0, host.stderr());
  assert.ok(!fs.existsSync(p.marker), 'the module of a disabled plugin is never imported');
  const db = await openDatabase({ client: 'sqlite', filename: path.join(p.dir, 'state', 'conveyor.db') });
  t.after(() => db.close());
  assert.equal(await db.knex.schema.hasTable('wip_gate_counts'), false);
  const migrations = (await db.knex('conveyor_migrations').select('name')) as { name: string }[];
  assert.ok(migrations.length > 0 && !migrations.some((m) => m.name.startsWith('wip-gate/')), JSON.stringify(migrations));

  // A disabled plugin's module need not even exist (switch off a broken build), from the file or the environment.
  p.write('  wip-gate:\n    module: ./gone.js\n    enabled: false\n');
  assert.equal(cli(p.conf, 'config', 'check').status, 0);
  p.write('  wip-gate:\n    module: ./gone.js\n');
  const viaEnv = cli({ cwd: p.conf, env: { CONVEYOR_PLUGINS_WIP_GATE_ENABLED: 'false' } }, 'config', 'check', '--json');
  assert.equal(viaEnv.status, 0, viaEnv.stderr);
  assert.equal((JSON.parse(viaEnv.stdout) as { plugins: Record<string, { enabled: boolean }> }).plugins['wip-gate']!.enabled, false);
  assert.ok(!fs.existsSync(p.marker));
});

test('a plugin module is found by package name from the config file\'s directory; a wrong one names what was looked at', { timeout: 60_000 }, async (t) => {
  const p = project(t);
  fs.symlinkSync(path.join(p.dir, 'plugins', 'wip-gate'), path.join(p.dir, 'node_modules', 'conveyor-plugin-wip-gate'), 'dir');
  p.write('  wip-gate:\n    module: conveyor-plugin-wip-gate\n');
  const ok = cli(p.conf, 'config', 'check', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { plugins: Record<string, { limit: number }> }).plugins['wip-gate']!.limit, 3);

  p.write('  wip-gate:\n    module: ./missing/index.js\n');
  const missing = cli(p.dir, 'config', 'check', '--config', 'conf/conveyor.config.yaml');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, new RegExp(`plugins\\.wip-gate\\.module: cannot load ${path.join(p.conf, 'missing', 'index.js').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));

  p.write('  wip-gate:\n    module: no-such-conveyor-plugin\n');
  const unknown = cli(p.conf, 'config', 'check');
  assert.equal(unknown.status, 2);
  assert.ok(unknown.stderr.includes(`plugins.wip-gate.module: cannot find "no-such-conveyor-plugin" from ${p.conf}`), unknown.stderr);

  p.write('  other-name:\n    module: ../plugins/wip-gate/index.js\n');
  const misnamed = cli(p.conf, 'config', 'check');
  assert.equal(misnamed.status, 2);
  assert.match(misnamed.stderr, /plugins\.other-name\.module: \.\.\/plugins\/wip-gate\/index\.js exports no plugin named "other-name" \(it exports "wip-gate"/);

  p.write('  forge-git:\n    module: ../plugins/wip-gate/index.js\n');
  const bundled = cli(p.conf, 'config', 'check');
  assert.equal(bundled.status, 2);
  assert.match(bundled.stderr, /plugins\.forge-git\.module: "forge-git" is a bundled plugin/);
});
