import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What `embed.mjs --once` prints: a task to merged done, the app's own route, and core's task routes mounted beside it. */
export const EMBEDDING_OUTPUT = {
  task: 'ET-001',
  stage: 'done',
  merged: true,
  hello: { service: 'my-service', conveyorPlugins: ['tracker-local', 'forge-git', 'agent-script'] },
  api: { show: [200, 'done'], missing: [404, 'not_found'] },
};

test('examples/embedding composes Conveyor in its own fastify app and runs a task to merged done', { timeout: 120_000 }, () => {
  const res = spawnSync(process.execPath, [path.join(root, 'examples/embedding/embed.mjs'), '--once'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as unknown;
  assert.deepEqual(out, EMBEDDING_OUTPUT);
});
