import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { eventually } from '@conveyor/core/testing';
import { collectProcessTree, isAlive, killProcessTree } from '../src/process-tree.js';

/** An "agent": a shell in its own group that starts a child in its own session and waits. */
function agent(dir: string, childScript: string): number {
  const child = spawn('/bin/sh', ['-c', `setsid /bin/sh -c '${childScript}' & wait`], { cwd: dir, detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

test('the tree of an agent includes a child that left its session; killing it leaves nothing alive', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cancel-tree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = agent(dir, 'echo $$ > bg.pid; exec sleep 1000');
  const bg = Number(await eventually(() => fs.existsSync(path.join(dir, 'bg.pid')) && fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8').trim(), 5_000, 'the background pid'));
  t.after(() => {
    for (const p of [root, bg]) if (isAlive(p)) process.kill(p, 'SIGKILL');
  });
  // A process-group kill would miss it: it is in a session (and group) of its own.
  assert.notEqual(pgid(bg), pgid(root));
  const tree = collectProcessTree(root);
  assert.ok(tree.includes(root) && tree.includes(bg), `tree ${tree.join(',')} has ${root} and ${bg}`);

  const res = await killProcessTree(root, { graceMs: 1_000 });
  assert.deepEqual(res.survivors, []);
  assert.equal(isAlive(root), false);
  assert.equal(isAlive(bg), false);
});

test('a process that ignores SIGTERM gets SIGKILL after the grace', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cancel-tree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = agent(dir, 'trap "" TERM; echo $$ > bg.pid; while :; do sleep 1; done');
  const bg = Number(await eventually(() => fs.existsSync(path.join(dir, 'bg.pid')) && fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8').trim(), 5_000, 'the background pid'));
  t.after(() => {
    for (const p of [root, bg]) if (isAlive(p)) process.kill(p, 'SIGKILL');
  });
  const res = await killProcessTree(root, { graceMs: 200 });
  assert.deepEqual(res.survivors, []);
  assert.equal(isAlive(bg), false);
});

test('a pid that is gone has an empty tree and killing it is a no-op', async () => {
  assert.deepEqual(collectProcessTree(2 ** 22 + 12345), []);
  assert.deepEqual(await killProcessTree(2 ** 22 + 12345, { graceMs: 10 }), { signalled: [], survivors: [] });
});

function pgid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}
