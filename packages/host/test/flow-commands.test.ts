import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually } from '@conveyor/core/testing';
import { serialGatePlugin } from '@conveyor/plugin-serial-gate';
import { taskDepsPlugin } from '@conveyor/plugin-task-deps';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { startHost, TOKEN } from './helpers.js';

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

/** A listening host with both flow plugins, and a CLI runner pointed at it with the token. */
async function flowHost(t: TestContext) {
  const host = await startHost(t, {
    plugins: [serialGatePlugin, taskDepsPlugin],
    config: { repos: { a: {} }, plugins: { 'serial-gate': { enabled: true } } },
  });
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-flow-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg = path.join(dir, 'conveyor.config.yaml');
  // The CLI reads the host's token file from the data dir, as on the embedded default.
  fs.writeFileSync(cfg, `instance:\n  dataDir: ${dir}\n`);
  fs.writeFileSync(path.join(dir, 'token'), TOKEN, { mode: 0o600 });
  const cli = async (...args: string[]) => {
    const io = capture();
    const code = await main(['node', 'conveyor', ...args, '--config', cfg, '--url', url], io);
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  };
  return { ...host, cli };
}

test('`conveyor serial-gate unfreeze <repo>` lifts a freeze through the API; a repo not frozen is a clear error', async (t) => {
  const { kit, cli } = await flowHost(t);
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'a', trackerIssueId: '1', title: 'x' });
  kit.conveyor.events.emit('deploy.degraded', { taskId: task.id, repo: 'a', reason: 'health check failed' });
  await eventually(async () => (await kit.conveyor.waiting.forTask(task)).reasons[0]?.kind === 'repo_frozen', 5_000, 'the freeze');
  const lifted = await cli('serial-gate', 'unfreeze', 'a');
  assert.deepEqual([lifted.code, lifted.out], [0, 'unfrozen: a; its tasks may run again']);
  const again = await cli('serial-gate', 'unfreeze', 'a');
  assert.equal(again.code, 3);
  assert.equal(again.err, 'error 404: repository "a" is not frozen');
});

test('`conveyor task deps` adds, lists and removes dependencies; a cycle is refused and named', async (t) => {
  const { kit, cli } = await flowHost(t);
  const { task: one } = await kit.conveyor.intake.startPipeline({ repo: 'a', trackerIssueId: '1', title: 'one' });
  const { task: two } = await kit.conveyor.intake.startPipeline({ repo: 'a', trackerIssueId: '2', title: 'two' });
  assert.deepEqual(await cli('task', 'deps', String(two.id), '--add', String(one.id)), { code: 0, out: `task ${two.id} now waits for task ${one.id} (${one.workItemId}, at analysis)`, err: '' });
  const listed = await cli('task', 'deps', String(two.id));
  assert.match(listed.out, new RegExp(`^\\s+${one.id}\\s+${one.workItemId}\\s+analysis\\s+\\(api\\)$`));
  const cycle = await cli('task', 'deps', String(one.id), '--add', String(two.id));
  assert.equal(cycle.code, 1);
  assert.equal(cycle.err, `error 409: task ${one.workItemId} cannot depend on ${two.workItemId}: that would close the cycle ${one.workItemId} → ${two.workItemId} → ${one.workItemId}`);
  const shown = await cli('task', 'show', String(two.id));
  assert.match(shown.out, /waiting for: Queued behind task \d+ .*Waits for its dependency to finish/);
  assert.deepEqual(await cli('task', 'deps', String(two.id), '--remove', String(one.id)), { code: 0, out: `task ${two.id} no longer waits for task ${one.id}`, err: '' });
  assert.equal((await cli('task', 'deps', String(two.id))).out, `task ${two.id} depends on no task`);
});
