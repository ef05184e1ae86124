import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fakeUsage, testDatabases } from '@conveyor/core/testing';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { AUTH, TOKEN, startHost } from './helpers.js';

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

for (const dialect of testDatabases()) {
  const d = `[${dialect}]`;

  test(`${d} GET /tasks/:id shows spend and budget; POST /tasks/:id/budget needs the token, refuses bad input, raises and resumes`, async (t) => {
    const { app, kit } = await startHost(t, { dialect, config: { worker: { enabled: true }, budgets: { taskUsd: 0.5 } }, agent: () => ({ usage: fakeUsage({ costUsd: 0.75 }) }) });
    const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: 'b-1', title: 'Spend' });
    // The analyst overruns; its relaunch after a rejection is stopped by the budget.
    await kit.conveyor.start();
    await kit.events.waitFor('human.approval_needed');
    await kit.conveyor.intake.humanVerdict(task.id, 'rejected', 'again');
    await kit.events.waitFor('task.blocked');
    await kit.events.waitFor('job.finished', (e) => e.status === 'failed');

    const shown = (await app.inject({ method: 'GET', url: `/tasks/${task.id}` })).json();
    assert.equal(shown.task.blockedKind, 'budget');
    assert.deepEqual(shown.budget.task, { limitUsd: 0.5, spentUsd: 0.75, remainingUsd: 0 });
    assert.equal(shown.budget.exhausted, 'task');
    assert.equal(shown.waitingFor.kind, 'budget_stop');
    assert.match(shown.waitingFor.sentence, new RegExp(`^Stopped by its budget at analysis since \\S+: \\$0\\.75 spent of the \\$0\\.50 task budget\\. To resume, raise it above \\$0\\.75 with \`conveyor task budget ${task.id} <usd>\`\\.$`));

    const none = await app.inject({ method: 'POST', url: `/tasks/${task.id}/budget`, payload: { usd: 2 } });
    assert.equal(none.statusCode, 401);
    for (const [payload, message] of [
      [{ usd: 0 }, /usd/],
      [{ usd: 'lots' }, /usd/],
      [{ usd: 2, extra: 1 }, /extra|additional/i],
      [{ usd: 0.6 }, /\$0\.6 does not exceed the \$0\.75 already spent/],
      [{ usd: 2, stage: 'nope' }, /"nope" is not a stage with an agent/],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: `/tasks/${task.id}/budget`, headers: AUTH, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.match(res.json().message, message);
    }
    assert.equal((await kit.conveyor.store.tasks.get(task.id))!.budgetUsd, null, 'refused requests change nothing');
    const unknown = await app.inject({ method: 'POST', url: '/tasks/999999/budget', headers: AUTH, payload: { usd: 2 } });
    assert.equal(unknown.statusCode, 404);

    const ok = await app.inject({ method: 'POST', url: `/tasks/${task.id}/budget`, headers: AUTH, payload: { usd: 2 } });
    assert.equal(ok.statusCode, 200);
    const body = ok.json();
    assert.equal(body.resumed, true);
    assert.equal(typeof body.jobId, 'number');
    assert.deepEqual(body.budget.task, { limitUsd: 2, spentUsd: 0.75, remainingUsd: 1.25 });
    assert.equal(body.task.blockedReason, null);
  });
}

test('`conveyor task budget` raises over HTTP and `task show` prints the budget line', async (t) => {
  const { app, kit } = await startHost(t, { config: { worker: { enabled: true }, budgets: { taskUsd: 1, stageUsd: { analysis: 0.5 } } }, agent: () => ({ usage: fakeUsage({ costUsd: 0.2 }) }) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-budget-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg = path.join(dir, 'c.yaml');
  fs.writeFileSync(cfg, `instance:\n  dataDir: ${dir}\n`);
  fs.writeFileSync(path.join(dir, 'token'), TOKEN, { mode: 0o600 });
  const { task } = await kit.conveyor.intake.startPipeline({ repo: 'acme', trackerIssueId: 'b-2', title: 'Spend' });
  await kit.conveyor.start();
  await kit.events.waitFor('human.approval_needed');

  const show = capture();
  assert.equal(await main(['node', 'conveyor', 'task', 'show', String(task.id), '--config', cfg, '--url', url], show), 0, show.stderr.join('\n'));
  assert.ok(show.stdout.join('\n').split('\n').includes('  budget: $0.20 spent of $1.00 (task), $0.20 spent of $0.50 at analysis'), show.stdout.join('\n'));

  const raise = capture();
  assert.equal(await main(['node', 'conveyor', 'task', 'budget', String(task.id), '3', '--config', cfg, '--url', url], raise), 0, raise.stderr.join('\n'));
  assert.match(raise.stdout.join('\n'), /budget: \$0\.20 spent of \$3\.00 \(task\)/);
  assert.equal((await kit.conveyor.store.tasks.get(task.id))!.budgetUsd, 3);

  const bad = capture();
  assert.equal(await main(['node', 'conveyor', 'task', 'budget', String(task.id), 'lots', '--config', cfg, '--url', url], bad), 1);
  assert.match(bad.stderr.join('\n'), /the budget must be a positive number of USD, got "lots"/);
  const low = capture();
  assert.equal(await main(['node', 'conveyor', 'task', 'budget', String(task.id), '0.1', '--stage', 'analysis', '--config', cfg, '--url', url], low), 1);
  assert.match(low.stderr.join('\n'), /error 400: \$0\.1 does not exceed the \$0\.20 already spent at analysis/);
});
