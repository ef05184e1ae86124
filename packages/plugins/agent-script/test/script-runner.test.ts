import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CoreTokens, pidAlive, type AgentRunRequest, type Invocation, type RunSandbox, type Task } from '@conveyor/core';
import { createTestConveyor } from '@conveyor/core/testing';
import { agentScriptPlugin, ScriptAgentRunner } from '../src/index.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-script-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function request(worktree: string, over: Partial<AgentRunRequest> = {}): AgentRunRequest {
  const task = { id: 3, workItemId: 'ET-003', branch: 'et-003-x', repo: 'r' } as Task;
  return {
    task,
    stage: 'development',
    role: 'developer',
    worktree,
    prompt: 'Do the thing.',
    env: { CONVEYOR_WORK_ITEM: 'ET-003', CONVEYOR_STAGE: 'development', CONVEYOR_ARTIFACT: 'docs/pipeline/ET-003/03-development.md' },
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    ...over,
  };
}

test('runs the role\'s command in the worktree with the task context; reads usage from a result JSON', async (t) => {
  const dir = tmp(t);
  const wt = path.join(dir, 'wt');
  fs.mkdirSync(wt);
  const script = path.join(dir, 'agent.sh');
  fs.writeFileSync(
    script,
    `#!/bin/sh
pwd > seen-cwd.txt
echo "$CONVEYOR_WORK_ITEM $CONVEYOR_STAGE $CONVEYOR_ARTIFACT" > seen-env.txt
cat "$CONVEYOR_PROMPT_FILE" > seen-prompt.txt
echo 'working...'
echo '{"type":"result","subtype":"success","is_error":false,"result":"implemented","total_cost_usd":0.42,"usage":{"input_tokens":10,"output_tokens":20,"cache_read_input_tokens":30,"cache_creation_input_tokens":40},"modelUsage":{"claude-sonnet-4-5":{}}}'
`,
    { mode: 0o755 },
  );
  const pids: number[] = [];
  const runner = new ScriptAgentRunner({ commands: { developer: script }, logDir: path.join(dir, 'logs') });
  const res = await runner.run(request(wt, { onSpawn: (pid) => void pids.push(pid) }));
  assert.equal(res.exitCode, 0);
  assert.equal(res.result, 'implemented');
  assert.deepEqual(res.usage, { inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheCreationTokens: 40, costUsd: 0.42, model: 'sonnet-4-5' });
  assert.equal(fs.readFileSync(path.join(wt, 'seen-cwd.txt'), 'utf8').trim(), fs.realpathSync(wt));
  assert.equal(fs.readFileSync(path.join(wt, 'seen-env.txt'), 'utf8').trim(), 'ET-003 development docs/pipeline/ET-003/03-development.md');
  assert.equal(fs.readFileSync(path.join(wt, 'seen-prompt.txt'), 'utf8'), 'Do the thing.');
  assert.equal(pids.length, 1);
  assert.equal(res.pid, pids[0]);
  assert.match(fs.readFileSync(res.logPath!, 'utf8'), /working\.\.\./);
});

test('plain output: the result is the last line and usage is unknown; a failing command reports why', async (t) => {
  const dir = tmp(t);
  const runner = new ScriptAgentRunner({ commands: { developer: 'echo one; echo two' }, defaultCommand: 'echo nope >&2; exit 3', logDir: dir });
  const ok = await runner.run(request(dir));
  assert.deepEqual([ok.exitCode, ok.result, ok.usage], [0, 'two', null]);
  const bad = await runner.run(request(dir, { role: 'tester' }));
  assert.equal(bad.exitCode, 3);
  assert.equal(bad.result, null);
  assert.equal(bad.error, 'exited with 3: nope');
  assert.notEqual(bad.transient, true);
});

test('a result JSON that says is_error fails the run even with exit 0', async (t) => {
  const dir = tmp(t);
  const runner = new ScriptAgentRunner({ commands: { developer: `echo '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 529 overloaded"}'` }, logDir: dir });
  const res = await runner.run(request(dir));
  assert.equal(res.exitCode, 0);
  assert.equal(res.result, null);
  assert.match(res.error!, /overloaded/);
});

test('a hanging agent that spawned a child is killed with its whole group at the timeout', async (t) => {
  const dir = tmp(t);
  const runner = new ScriptAgentRunner({ commands: { developer: 'sleep 60 & echo $! > child.pid; wait' }, logDir: dir, killGraceMs: 200 });
  let pid = 0;
  const res = await runner.run(request(dir, { timeoutMs: 300, onSpawn: (p) => void (pid = p) }));
  assert.equal(res.transient, true);
  assert.equal(res.exitCode, null);
  assert.match(res.error!, /timed out after 300 ms; process group killed/);
  const child = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8'));
  assert.ok(child > 0);
  const deadline = Date.now() + 3_000;
  while ((pidAlive(child) || pidAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(pidAlive(pid), false, 'the shell is gone');
  assert.equal(pidAlive(child), false, 'the grandchild is gone too');
});

test('a role without a command fails with a message naming the config key', async (t) => {
  const dir = tmp(t);
  const res = await new ScriptAgentRunner({ commands: {}, logDir: dir }).run(request(dir));
  assert.equal(res.error, 'agent-script has no command for role "developer" (set plugins.agent-script.commands.developer)');
});

test('the plugin binds its runner; disabled, it binds nothing', async () => {
  const on = await createTestConveyor({ plugins: [agentScriptPlugin], fakes: false, config: { plugins: { 'agent-script': { commands: { analyst: 'true' } } } } });
  try {
    assert.equal(on.conveyor.container.resolve<{ name: string }>(CoreTokens.AgentRunner).name, 'agent-script');
  } finally {
    await on.cleanup();
  }
  const off = await createTestConveyor({ plugins: [agentScriptPlugin], fakes: false, config: { plugins: { 'agent-script': { enabled: false } } } });
  try {
    assert.equal(off.conveyor.container.isRegistered(CoreTokens.AgentRunner, true), false);
  } finally {
    await off.cleanup();
  }
});

test('with a sandbox, the command runs through it, with the prompt file and the files its command line names shown read-only', async (t) => {
  const dir = tmp(t);
  const wt = path.join(dir, 'wt');
  fs.mkdirSync(wt);
  const script = path.join(dir, 'agent.sh');
  fs.writeFileSync(script, '#!/bin/sh\necho done\n', { mode: 0o755 });
  const seen: Array<{ inv: Invocation; readOnly: readonly string[] }> = [];
  const sandbox: RunSandbox = {
    kind: 'bubblewrap',
    wrap: (inv, extra) => {
      seen.push({ inv, readOnly: extra?.readOnly ?? [] });
      return inv;
    },
  };
  const command = `sh "${script}" "$CONVEYOR_STAGE" /no/such/file`;
  const runner = new ScriptAgentRunner({ commands: { developer: command }, logDir: path.join(dir, 'logs') });
  const res = await runner.run(request(wt, { sandbox }));
  assert.equal(res.exitCode, 0);
  assert.equal(res.result, 'done');
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.inv, { command, args: [], shell: true });
  const [prompt, ...named] = seen[0]!.readOnly;
  assert.match(prompt!, /development-developer-.*\.prompt\.md$/);
  assert.deepEqual(named, [script], 'the script, not a missing path nor a variable');
});

test('a missing command or one that refuses its flags is a configuration error, not retried', async (t) => {
  const dir = tmp(t);
  const runner = new ScriptAgentRunner({ commands: { developer: 'no-such-agent-binary --go', tester: "echo \"error: unknown option '--fast'\" >&2; exit 2" }, logDir: dir });
  const missing = await runner.run(request(dir));
  assert.equal(missing.transient, false);
  assert.match(missing.error!, /configuration error, not retried: the command was not found \(exit 127\).*plugins\.agent-script\.commands\.developer/);
  const refused = await runner.run(request(dir, { role: 'tester' }));
  assert.equal(refused.transient, false);
  assert.match(refused.error!, /the command refused its arguments: error: unknown option '--fast'/);
});
