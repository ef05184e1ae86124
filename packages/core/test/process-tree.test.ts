import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pidAlive, runProcess } from '../src/util/process-group.js';
import { TREE_TAG_ENV, killProcessTree, newTreeTag } from '../src/util/process-tree.js';
import { eventually } from '../src/testing/index.js';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-tree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The pids a script wrote, one per line, once it has written them all.
async function pidsFrom(file: string, count: number): Promise<number[]> {
  await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim().split('\n').length >= count, 5_000, `${count} pids in ${file}`);
  return fs.readFileSync(file, 'utf8').trim().split('\n').map(Number);
}

// Should an assertion fail, the sleeps must not outlive the test run.
function reap(t: TestContext, pids: () => number[]): void {
  t.after(() => {
    for (const p of pids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

// A command run by the agent's tool with `setsid` leaves the agent's group, and once
// its parent exits, its tree: what Claude Code's Bash tool does.
const ESCAPE = (file: string) => `setsid sh -c 'echo $$ >> ${file}; exec sleep 300' < /dev/null > /dev/null 2>&1 & `;

test('an agent that exits leaves nothing behind, not even a command it started with setsid', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'pids');
  let pids: number[] = [];
  reap(t, () => pids);
  const res = await runProcess({ command: `${ESCAPE(file)} while [ ! -s ${file} ]; do :; done; echo done`, shell: true, cwd: dir, timeoutMs: 30_000, killGraceMs: 200 });
  pids = await pidsFrom(file, 1);
  assert.equal(res.exitCode, 0);
  assert.match(res.stdout, /done/);
  assert.deepEqual(pids.filter(pidAlive), [], 'the setsid sleep was killed before runProcess returned');
});

test('an agent that hangs is killed on timeout with its whole tree, setsid children included', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'pids');
  let pids: number[] = [];
  reap(t, () => pids);
  const res = await runProcess({ command: `${ESCAPE(file)} echo $$ >> ${file}; sleep 300`, shell: true, cwd: dir, timeoutMs: 500, killGraceMs: 200 });
  pids = await pidsFrom(file, 2);
  assert.equal(res.timedOut, true);
  assert.deepEqual(pids.filter(pidAlive), []);
});

test('an agent whose host died is killed with its tree by the next start (its tag read from the running agent)', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'pids');
  // Started as a crashed host would have left it: detached, tagged, nobody waiting for it.
  const child = spawn('sh', ['-c', `${ESCAPE(file)} echo $$ >> ${file}; sleep 300`], { detached: true, stdio: 'ignore', env: { ...process.env, [TREE_TAG_ENV]: newTreeTag() } });
  child.unref();
  let pids: number[] = [];
  reap(t, () => [...pids, child.pid!]);
  pids = await pidsFrom(file, 2);
  const killed = await killProcessTree(child.pid!, { graceMs: 200 });
  assert.ok(pids.every((p) => killed.includes(p)), `signalled ${killed.join(',')}, expected ${pids.join(',')}`);
  await eventually(() => pids.every((p) => !pidAlive(p)), 5_000, 'the tree is gone');
});

test('killing a tree that is already gone is not an error, and never signals this process', async () => {
  const killed = await killProcessTree(2 ** 22 - 7, { graceMs: 10 });
  assert.ok(!killed.includes(process.pid));
  assert.ok(pidAlive(process.pid));
});

test('with the run gone, its tag alone finds what it left running; another tag is left alone', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'pids');
  const tag = newTreeTag();
  // The run started a setsid command and exited: only the tag ties the command to it.
  const run = spawn('sh', ['-c', ESCAPE(file)], { stdio: 'ignore', env: { ...process.env, [TREE_TAG_ENV]: tag } });
  const other = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, [TREE_TAG_ENV]: newTreeTag() } });
  other.unref();
  let pids: number[] = [];
  reap(t, () => [...pids, other.pid!]);
  await new Promise((r) => run.once('exit', r));
  pids = await pidsFrom(file, 1);
  const killed = await killProcessTree(null, { graceMs: 200, tag });
  assert.deepEqual(killed, pids);
  assert.deepEqual(pids.filter(pidAlive), []);
  assert.equal(pidAlive(other.pid!), true, 'a process with another tag is not signalled');
});
