import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pidAlive, runProcess } from '../src/util/process-group.js';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-pg-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Gone = no such process, or a zombie (core's `pidAlive` counts zombies as dead). */
const gone = (pid: number): boolean => !pidAlive(pid);

async function waitGone(pids: number[], withinMs = 3_000): Promise<number[]> {
  const until = Date.now() + withinMs;
  let alive = pids.filter((p) => !gone(p));
  while (alive.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter((p) => !gone(p));
  }
  return alive;
}

// Should an assertion fail, the sleeps must not outlive the test run.
function reap(t: TestContext, pids: () => number[]): void {
  t.after(() => {
    for (const p of pids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

const SPAWNS_GRANDCHILD = 'sleep 30 & echo $! > child.pid; sleep 30';

function readChildPid(dir: string): number {
  const pid = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8').trim());
  assert.ok(Number.isInteger(pid) && pid > 0, 'the shell wrote its child pid');
  return pid;
}

async function waitForFile(file: string, withinMs = 2_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim() === '') {
    if (Date.now() > until) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a timeout kills the whole process group, grandchildren included', { timeout: 5_000 }, async (t) => {
  const dir = tempDir(t);
  const pids: number[] = [];
  reap(t, () => pids);
  const started = Date.now();
  const res = await runProcess({ command: 'sh', args: ['-c', SPAWNS_GRANDCHILD], cwd: dir, timeoutMs: 300, killGraceMs: 500 });
  assert.ok(Date.now() - started < 2_500, 'returned soon after the timeout');
  assert.equal(res.timedOut, true);
  assert.equal(res.aborted, false);
  assert.equal(res.exitCode, null);
  assert.equal(res.spawnError, null);
  assert.ok(res.pid !== null);
  pids.push(res.pid, readChildPid(dir));
  assert.deepEqual(await waitGone(pids), [], 'shell and grandchild are gone');
});

test('aborting kills the whole process group the same way', { timeout: 5_000 }, async (t) => {
  const dir = tempDir(t);
  const pids: number[] = [];
  reap(t, () => pids);
  const ac = new AbortController();
  let spawned: number | null = null;
  const run = runProcess({
    command: 'sh',
    args: ['-c', SPAWNS_GRANDCHILD],
    cwd: dir,
    timeoutMs: 10_000,
    killGraceMs: 500,
    signal: ac.signal,
    onSpawn: (pid) => void (spawned = pid),
  });
  await waitForFile(path.join(dir, 'child.pid'));
  ac.abort();
  const res = await run;
  assert.equal(res.aborted, true);
  assert.equal(res.timedOut, false);
  assert.equal(res.exitCode, null);
  assert.equal(spawned, res.pid, 'onSpawn got the pid before the wait');
  assert.ok(res.pid !== null);
  pids.push(res.pid, readChildPid(dir));
  assert.deepEqual(await waitGone(pids), [], 'shell and grandchild are gone');
});

test('an already aborted signal kills the process at once', { timeout: 5_000 }, async (t) => {
  const res = await runProcess({ command: 'sleep', args: ['30'], cwd: tempDir(t), timeoutMs: 10_000, signal: AbortSignal.abort() });
  assert.equal(res.aborted, true);
  assert.equal(res.exitCode, null);
});

test('a normal command: exit code and output, both streams appended to the log', { timeout: 5_000 }, async (t) => {
  const dir = tempDir(t);
  const logPath = path.join(dir, 'logs', 'nested', 'run.log');
  const script = 'echo "out $CONVEYOR_X"; echo err >&2; pwd; exit 3';
  const res = await runProcess({ command: 'sh', args: ['-c', script], cwd: dir, env: { CONVEYOR_X: 'x1' }, timeoutMs: 4_000, logPath });
  assert.equal(res.exitCode, 3);
  assert.equal(res.timedOut, false);
  assert.equal(res.signal, null);
  assert.equal(res.stdout, `out x1\n${fs.realpathSync(dir)}\n`);
  assert.equal(res.stderr, 'err\n');
  await runProcess({ command: 'echo hi from the shell', cwd: dir, shell: true, timeoutMs: 4_000, logPath });
  const log = fs.readFileSync(logPath, 'utf8');
  for (const line of ['out x1', 'err', 'hi from the shell']) assert.ok(log.includes(`${line}\n`), `log has "${line}"`);
  assert.ok(log.indexOf('out x1') < log.indexOf('hi from the shell'), 'appended, not overwritten');
});

test('stdin input reaches the process', { timeout: 5_000 }, async (t) => {
  const res = await runProcess({ command: 'cat', cwd: tempDir(t), timeoutMs: 4_000, input: 'from stdin' });
  assert.equal(res.exitCode, 0);
  assert.equal(res.stdout, 'from stdin');
});

test('a missing command sets spawnError instead of throwing', { timeout: 5_000 }, async (t) => {
  const dir = tempDir(t);
  const res = await runProcess({ command: path.join(dir, 'no-such-command'), cwd: dir, timeoutMs: 4_000, logPath: path.join(dir, 'x.log') });
  assert.equal(typeof res.spawnError, 'string');
  assert.ok(res.spawnError);
  assert.equal(res.exitCode, null);
  assert.equal(res.timedOut, false);
});

test('a killed run ends its log with a line saying it was killed and why; a run that exits by itself gets none', async (t) => {
  const dir = tempDir(t);
  const log = path.join(dir, 'run.log');
  const ac = new AbortController();
  const res = await runProcess({
    command: 'echo started; sleep 30', shell: true, cwd: dir, timeoutMs: 10_000, killGraceMs: 200, logPath: log, signal: ac.signal,
    onSpawn: () => void setTimeout(() => ac.abort(new Error('the job was cancelled or taken over by another attempt (its heartbeat was refused)')), 50),
  });
  assert.equal(res.aborted, true);
  assert.equal(res.abortReason, 'the job was cancelled or taken over by another attempt (its heartbeat was refused)');
  const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], 'started');
  assert.match(lines.at(-1)!, /^# \S+Z killed by Conveyor: the job was cancelled or taken over by another attempt \(its heartbeat was refused\); its process group got SIGTERM, then SIGKILL after 200 ms$/);

  const byItself = path.join(dir, 'ok.log');
  await runProcess({ command: 'echo fine', shell: true, cwd: dir, timeoutMs: 10_000, logPath: byItself });
  assert.equal(fs.readFileSync(byItself, 'utf8'), 'fine\n');

  const outside = path.join(dir, 'signal.log');
  const res2 = await runProcess({ command: 'kill -9 $$', shell: true, cwd: dir, timeoutMs: 10_000, logPath: outside });
  assert.equal(res2.signal, 'SIGKILL');
  assert.match(fs.readFileSync(outside, 'utf8'), /ended by SIGKILL, not sent by Conveyor/);
});
