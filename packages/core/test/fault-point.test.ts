import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { armFaultPoint, faultPoint } from '@conveyor/core';
import { eventually } from '@conveyor/core/testing';

const run = promisify(execFile);

test('an armed fault point trips on its Nth pass only, and a disarmed one never', () => {
  const trips: string[] = [];
  const disarm = armFaultPoint('test.window', { at: 2, action: (name) => trips.push(name) });
  faultPoint('test.window');
  faultPoint('test.other');
  assert.deepEqual(trips, []);
  faultPoint('test.window');
  assert.deepEqual(trips, ['test.window']);
  faultPoint('test.window');
  assert.deepEqual(trips, ['test.window']);
  disarm();
  faultPoint('test.window');
  assert.deepEqual(trips, ['test.window']);
});

test('CONVEYOR_FAULT_POINTS kills the process at the named point, not before', async () => {
  const script = `import { faultPoint } from '@conveyor/core'; console.log('before'); faultPoint('a.b'); console.log('after');`;
  const child = run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, CONVEYOR_FAULT_POINTS: 'a.b@1' },
    cwd: new URL('.', import.meta.url).pathname,
  });
  const err = (await child.then(() => null, (e: unknown) => e)) as { signal?: string; stdout?: string } | null;
  assert.ok(err, 'the process should have been killed');
  assert.equal(err.signal, 'SIGKILL');
  assert.equal(err.stdout, 'before\n');
});

test('name@N:stop pauses the process there (SIGSTOP) instead of killing it', async (t) => {
  const { spawn } = await import('node:child_process');
  const script = `import { faultPoint } from '@conveyor/core'; console.log('before'); faultPoint('a.b'); console.log('after');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, CONVEYOR_FAULT_POINTS: 'a.b@1:stop' }, cwd: new URL('.', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let printed: () => void;
  const before = new Promise<void>((r) => (printed = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('before\n')) printed();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // A stopped child left behind by a failed assertion would hold this test file open.
  t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  // Starting node is slow on a loaded machine: wait for its first line, not for a time.
  await before;
  // Stopped: its state in /proc is T (stopped), and it printed only what came before.
  await eventually(() => /^T/.test(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1] ?? ''), 60_000, 'the process stopped');
  assert.equal(out, 'before\n');
  child.kill('SIGCONT');
  assert.equal(await exited, 0);
  assert.equal(out, 'before\nafter\n');
});

test('a malformed CONVEYOR_FAULT_POINTS is refused with the item named', async () => {
  const err = (await run(process.execPath, ['--input-type=module', '-e', `import '@conveyor/core';`], {
    env: { ...process.env, CONVEYOR_FAULT_POINTS: 'a.b@0' },
    cwd: new URL('.', import.meta.url).pathname,
  }).then(() => null, (e: unknown) => e)) as { stderr?: string } | null;
  assert.ok(err);
  assert.match(err.stderr ?? '', /"a\.b@0" is not name, name@N or name@N:stop/);
});
