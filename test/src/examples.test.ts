import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { EMBEDDING_OUTPUT } from './embedding-output.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');


test('examples/embedding composes Conveyor in its own fastify app and runs a task to merged done', { timeout: 120_000 }, () => {
  const res = spawnSync(process.execPath, [path.join(root, 'examples/embedding/embed.mjs'), '--once'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as unknown;
  assert.deepEqual(out, EMBEDDING_OUTPUT);
});
