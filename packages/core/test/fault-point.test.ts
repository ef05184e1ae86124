import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { armFaultPoint, faultPoint } from '@conveyor/core';

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

test('a malformed CONVEYOR_FAULT_POINTS is refused with the item named', async () => {
  const err = (await run(process.execPath, ['--input-type=module', '-e', `import '@conveyor/core';`], {
    env: { ...process.env, CONVEYOR_FAULT_POINTS: 'a.b@0' },
    cwd: new URL('.', import.meta.url).pathname,
  }).then(() => null, (e: unknown) => e)) as { stderr?: string } | null;
  assert.ok(err);
  assert.match(err.stderr ?? '', /"a\.b@0" is not name or name@N/);
});
