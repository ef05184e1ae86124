import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { definePlugin, resolveConfig, underDataDir } from '../src/index.js';

const BASE = path.resolve('/srv/conf');
const logs = definePlugin({ name: 'logs', configSchema: Type.Object({ logDir: Type.String({ ...underDataDir('logs'), default: '.conveyor/logs' }) }), register() {} });

test('relative paths resolve against the base directory (the config file\'s), not the working directory', () => {
  const config = resolveConfig(
    {
      instance: { dataDir: '../state' },
      database: { filename: 'db/conveyor.sqlite3' },
      repos: { app: { url: './origin/app.git', prompts: { analyst: 'prompts/analyst.md' } } },
    },
    [logs],
    { env: {}, baseDir: BASE },
  );
  assert.equal(config.instance.dataDir, path.resolve('/srv/state'));
  assert.equal(config.database.filename, path.resolve('/srv/conf/db/conveyor.sqlite3'));
  assert.equal(config.repos.app!.url, path.resolve('/srv/conf/origin/app.git'));
  assert.equal(config.repos.app!.prompts!.analyst, path.resolve('/srv/conf/prompts/analyst.md'));
});

test('instance.dataDir moves every path left unset: database, workspaces, a plugin\'s logDir', () => {
  const moved = resolveConfig({ instance: { dataDir: '/var/lib/conveyor' } }, [logs], { env: {}, baseDir: BASE });
  assert.equal(moved.database.filename, path.resolve('/var/lib/conveyor/conveyor.db'));
  assert.equal(moved.workspaces.root, path.resolve('/var/lib/conveyor/workspaces'));
  assert.equal(moved.plugins.logs!.logDir, path.resolve('/var/lib/conveyor/logs'));
  const unset = resolveConfig({}, [logs], { env: {}, baseDir: BASE });
  assert.equal(unset.instance.dataDir, path.resolve('/srv/conf/.conveyor'));
  assert.equal(unset.database.filename, path.resolve('/srv/conf/.conveyor/conveyor.db'));
  const own = resolveConfig({ instance: { dataDir: 'd' }, plugins: { logs: { logDir: '/tmp/elsewhere' } } }, [logs], { env: {}, baseDir: BASE });
  assert.equal(own.plugins.logs!.logDir, path.resolve('/tmp/elsewhere'), 'a key that says otherwise wins');
});

test('a clone URL is left alone; only a local path resolves', () => {
  for (const url of ['https://git.example.com/acme/app.git', 'ssh://git@host/app.git', 'git@host:acme/app.git', 'file:///srv/app.git']) {
    assert.equal(resolveConfig({ repos: { app: { url } } }, [], { env: {}, baseDir: BASE }).repos.app!.url, url);
  }
  assert.equal(resolveConfig({ repos: { app: { url: 'origin/app.git' } } }, [], { env: {}, baseDir: BASE }).repos.app!.url, path.resolve('/srv/conf/origin/app.git'));
});

test('a path key of the wrong type is reported by the schema, untouched', () => {
  assert.throws(() => resolveConfig({ instance: { dataDir: 7 } }, [], { env: {}, baseDir: BASE }), /instance\.dataDir: expected string, found 7/);
  assert.throws(() => resolveConfig({ database: { filename: ['x'] } }, [], { env: {}, baseDir: BASE }), /database\.filename: expected string, found \["x"\]/);
});
