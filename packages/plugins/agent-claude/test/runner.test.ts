import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Invocation, RunSandbox } from '@conveyor/core';
import { ClaudeAgentRunner, type AgentClaudeConfig } from '../src/index.js';
import { fakeClaude, testTask, type FakeClaude } from './fake-claude.js';

function runner(fake: FakeClaude, config: Partial<AgentClaudeConfig> = {}): ClaudeAgentRunner {
  return new ClaudeAgentRunner(
    { command: fake.command, permissionMode: 'acceptEdits', allowedTools: [], extraArgs: [], passEnv: ['ANTHROPIC_*'], logDir: fake.logDir, ...config },
    { now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), killGraceMs: 300 },
  );
}

test('success: every configured flag, the worktree as cwd, result and usage mapped, output logged', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const claude = runner(fake, {
    model: 'sonnet', maxTurns: 40, permissionMode: 'bypassPermissions', appendSystemPrompt: 'Be terse.',
    maxBudgetUsd: 2.5, allowedTools: ['Read', 'Edit', 'Bash(git *)'], extraArgs: ['--add-dir', '/srv/shared'],
  });
  const spawned: number[] = [];
  const res = await claude.run(fake.request({ output: 'claude-result-success.json' }, { onSpawn: (pid) => void spawned.push(pid) }));
  const rec = fake.record();
  assert.deepEqual(rec.argv, [
    '-p', 'Implement the retry.', '--output-format', 'json', '--model', 'sonnet', '--max-turns', '40',
    '--permission-mode', 'bypassPermissions', '--append-system-prompt', 'Be terse.', '--max-budget-usd', '2.5',
    '--allowedTools', 'Read,Edit,Bash(git *)', '--add-dir', '/srv/shared',
  ]);
  assert.equal(rec.cwd, fs.realpathSync(fake.worktree));
  assert.equal(rec.stage, 'development', 'request.env reaches the process');
  assert.deepEqual(spawned, [rec.pid]);
  assert.equal(res.pid, rec.pid);
  assert.equal(res.exitCode, 0);
  assert.match(res.result ?? '', /^Implemented retry/);
  assert.equal(res.transient, undefined);
  assert.equal(res.error, undefined);
  assert.deepEqual(res.usage, { inputTokens: 41, outputTokens: 9921, cacheReadTokens: 912377, cacheCreationTokens: 38812, costUsd: 0.8731245, model: 'sonnet-4-5-20250929' });
  assert.equal(res.logPath, path.join(fake.logDir, 'ET-42', 'development-developer-2026-01-02T03-04-05-006Z.log'));
  const log = fs.readFileSync(res.logPath, 'utf8');
  assert.match(log, /"--permission-mode" "bypassPermissions"/);
  assert.ok(log.includes('"session_id": "2f7c1e9a'), 'stdout is in the log');
  assert.ok(log.includes('fake claude: print'), 'stderr is in the log');
});

test('defaults: only -p, the prompt, json output and the permission mode', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  await runner(fake).run(fake.request({ output: 'claude-stream-json-sample.ndjson' }));
  assert.deepEqual(fake.record().argv, ['-p', 'Implement the retry.', '--output-format', 'json', '--permission-mode', 'acceptEdits']);
  assert.equal(fake.record().stdin, '');
});

test('a prompt that looks like a flag, or is too long for argv, goes on stdin', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ output: 'claude-result-success.json' }, { prompt: '--help me: fix the bug' }));
  assert.deepEqual(fake.record().argv, ['-p', '--output-format', 'json', '--permission-mode', 'acceptEdits']);
  assert.equal(fake.record().stdin, '--help me: fix the bug');
  assert.equal(res.exitCode, 0);
  // Over Linux's 128 KiB per-argument limit (E2BIG) if passed as an argument.
  const long = 'x'.repeat(200 * 1024);
  await runner(fake).run(fake.request({ output: 'claude-result-success.json' }, { prompt: long }));
  assert.deepEqual(fake.record().argv.slice(0, 2), ['-p', '--output-format']);
  assert.equal(fake.record().stdin.length, long.length);
});

test('API error with exit 0: not ok, transient, no result, usage kept', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ output: 'claude-result-api-error.json', exit: 0 }));
  assert.equal(res.exitCode, 0, 'the real exit code is recorded; the error says it failed');
  assert.equal(res.transient, true);
  assert.equal(res.result, null);
  assert.equal(res.error, 'API Error: Rate limit reached (HTTP 429)');
  assert.equal(res.usage?.costUsd, 0);
});

test('error_max_turns: not transient, no result, its cost recorded', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake, { maxTurns: 40 }).run(fake.request({ output: 'claude-result-error.json', exit: 1 }));
  assert.equal(res.exitCode, 1);
  assert.equal(res.transient, false);
  assert.equal(res.result, null);
  assert.equal(res.error, 'error_max_turns: Reached maximum number of turns (40)');
  assert.equal(res.usage?.costUsd, 1.9320481);
});

test('garbage output: usage null, a transient failure, no crash', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ text: 'Segmentation fault {"type":"res', exit: 0 }));
  assert.equal(res.usage, null);
  assert.equal(res.result, null);
  assert.equal(res.exitCode, 0);
  assert.equal(res.transient, true);
  assert.match(res.error ?? '', /no result message in output \(exit 0; stderr: fake claude: print\)/);
});

test('a success result with a failing exit code is a transient failure', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ output: 'claude-result-success.json', exit: 2 }));
  assert.equal(res.exitCode, 2);
  assert.equal(res.transient, true);
  assert.equal(res.result, null);
  assert.ok(res.usage, 'the usage is still recorded');
});

test('a hanging CLI is killed at the timeout: transient, no exit code', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const started = Date.now();
  const res = await runner(fake).run(fake.request({ mode: 'hang' }, { timeoutMs: 300 }));
  assert.ok(Date.now() - started < 3_000);
  assert.equal(res.exitCode, null);
  assert.equal(res.transient, true);
  assert.equal(res.usage, null);
  assert.match(res.error ?? '', /timed out after 300 ms/);
  const lastLine = fs.readFileSync(res.logPath!, 'utf8').trimEnd().split('\n').at(-1)!;
  assert.match(lastLine, /^# \d{4}-\d\d-\d\dT.*Z killed by Conveyor: timed out after 300 ms; its process group got SIGTERM, then SIGKILL after 300 ms$/);
});

test('an abort kills the run: transient', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const ac = new AbortController();
  const reason = new Error('shutdown: the host is stopping and its stop deadline of 50 ms passed');
  const res = await runner(fake).run(fake.request({ mode: 'hang' }, { signal: ac.signal, onSpawn: () => void setTimeout(() => ac.abort(reason), 100) }));
  assert.equal(res.exitCode, null);
  assert.equal(res.transient, true);
  assert.equal(res.error, 'aborted (shutdown: the host is stopping and its stop deadline of 50 ms passed); the process group was killed');
  const lastLine = fs.readFileSync(res.logPath!, 'utf8').trimEnd().split('\n').at(-1)!;
  assert.match(lastLine, /Z killed by Conveyor: shutdown: the host is stopping and its stop deadline of 50 ms passed; its process group got SIGTERM/);
});

test('an abort without a reason still ends the log with a line saying it was killed', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const ac = new AbortController();
  const res = await runner(fake).run(fake.request({ mode: 'hang' }, { signal: ac.signal, onSpawn: () => void setTimeout(() => ac.abort(), 50) }));
  assert.match(fs.readFileSync(res.logPath!, 'utf8'), /killed by Conveyor: aborted; its process group/);
});

test('permission denials of a "success" run (the real CLI\'s result) are returned with the run', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake, { permissionMode: 'manual' }).run(fake.request({ output: 'claude-result-permission-denied.json' }));
  assert.equal(res.exitCode, 0);
  assert.equal(res.error, undefined, 'the CLI said success; the run is recorded as it was');
  assert.deepEqual(res.permissionDenials, [{ tool: 'Write', target: '/srv/conveyor/workspaces/demo/et-007/notes.md' }]);
  assert.ok(fake.record().argv.includes('manual'));
  const clean = await runner(fake).run(fake.request({ output: 'claude-result-tool-use-success.json' }));
  assert.equal(clean.permissionDenials, undefined);
});

test('passEnv adds to the default allowlist (ANTHROPIC_*, CLAUDE_*, IS_SANDBOX) instead of replacing it', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const saved = { ...process.env };
  Object.assign(process.env, { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', CLAUDE_CODE_MAX_RETRIES: '1', IS_SANDBOX: '1', AWS_REGION: 'eu-west-1', GITEA_TOKEN: 'secret' });
  t.after(() => {
    for (const k of ['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_MAX_RETRIES', 'IS_SANDBOX', 'AWS_REGION', 'GITEA_TOKEN']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  await runner(fake, { passEnv: ['AWS_*'] }).run(fake.request({ output: 'claude-result-success.json' }));
  const keys = fake.record().envKeys;
  for (const k of ['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_MAX_RETRIES', 'IS_SANDBOX', 'AWS_REGION']) assert.ok(keys.includes(k), k);
  assert.ok(!keys.includes('GITEA_TOKEN'), 'Conveyor\'s secrets never reach the agent');
});

test('a failing onSpawn (pid not stamped) kills the process instead of leaving it unrecorded', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ mode: 'hang' }, { onSpawn: async () => Promise.reject(new Error('database is locked')) }));
  assert.equal(res.transient, true);
  assert.equal(res.exitCode, null);
  assert.match(res.error ?? '', /recording the pid failed: database is locked/);
});

test('a missing executable: a configuration error, not retried, with a hint, no throw', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake, { command: path.join(fake.dir, 'no-claude-here') }).run(fake.request({}));
  assert.equal(res.pid, null);
  assert.equal(res.exitCode, null);
  assert.equal(res.transient, false, 'every retry would fail the same way');
  assert.match(res.error ?? '', /could not start .*plugins\.agent-claude\.command/);
  assert.ok(!res.error?.includes('Implement the retry'), 'the prompt is not echoed into the job error');
});

test('a hostile work item id cannot move the log file out of logDir', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ output: 'claude-result-success.json' }, { task: testTask('../../etc/x y') }));
  assert.ok(res.logPath?.startsWith(fake.logDir + path.sep), res.logPath ?? '');
  assert.equal(path.basename(path.dirname(res.logPath ?? '')), '.._.._etc_x_y');
});

test('the task budget left caps --max-budget-usd (rounded down to the cent), below a larger configured cap', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  await runner(fake, { maxBudgetUsd: 2.5 }).run(fake.request({ output: 'claude-result-success.json' }, { budgetUsd: 0.4299 }));
  assert.deepEqual(fake.record().argv.slice(-2), ['--max-budget-usd', '0.42']);
  await runner(fake, { maxBudgetUsd: 0.1 }).run(fake.request({ output: 'claude-result-success.json' }, { budgetUsd: 3 }));
  assert.deepEqual(fake.record().argv.slice(-2), ['--max-budget-usd', '0.1'], 'the configured per-run cap stays when it is smaller');
  await runner(fake).run(fake.request({ output: 'claude-result-success.json' }, { budgetUsd: null }));
  assert.ok(!fake.record().argv.includes('--max-budget-usd'), 'no budget, no flag');
});

test('error_max_budget_usd (the real CLI\'s result): a budget stop, not retried, its cost recorded', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const res = await runner(fake).run(fake.request({ output: 'claude-result-max-budget.json', exit: 1 }, { budgetUsd: 0.001 }));
  assert.equal(res.budgetSpent, true);
  assert.equal(res.transient, false);
  assert.equal(res.result, null);
  assert.match(res.error ?? '', /Reached maximum budget/);
  assert.equal(res.usage?.costUsd, 0.011196000000000001);
});

test('with a sandbox, the CLI is started through it (an absolute command shown read-only), and still reports', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const seen: Array<{ inv: Invocation; readOnly: readonly string[] }> = [];
  // A sandbox that records what it wraps and runs it unchanged: the runner must go through it.
  const sandbox: RunSandbox = {
    kind: 'bubblewrap',
    wrap: (inv, extra) => {
      seen.push({ inv, readOnly: extra?.readOnly ?? [] });
      return inv;
    },
  };
  const res = await runner(fake).run(fake.request({ output: 'claude-result-success.json' }, { sandbox }));
  assert.equal(res.exitCode, 0);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.inv.command, fake.command);
  assert.deepEqual(seen[0]!.inv.args, fake.record().argv);
  assert.deepEqual(seen[0]!.readOnly, path.isAbsolute(fake.command) ? [fake.command] : []);
});

test('a CLI that refuses its flags: a configuration error, not retried, naming what it said', { timeout: 5_000 }, async (t) => {
  const fake = fakeClaude(t);
  const refuses = path.join(fake.dir, 'old-claude');
  fs.writeFileSync(refuses, "#!/bin/sh\necho \"error: unknown option '--permission-mode'\" >&2\nexit 1\n", { mode: 0o755 });
  const res = await runner(fake, { command: refuses }).run(fake.request({}));
  assert.equal(res.exitCode, 1);
  assert.equal(res.transient, false);
  assert.match(res.error ?? '', /configuration error, not retried: the command refused its arguments: error: unknown option '--permission-mode'/);
});
