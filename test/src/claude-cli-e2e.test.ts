import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import 'reflect-metadata';
import { createConveyor, git, type OwnedRoute } from '@conveyor/core';
import { EventRecorder, RecordingLogger } from '@conveyor/core/testing';
import { BUNDLED_PLUGINS, embeddedConfig } from '@conveyor/host';
import { AnthropicMock } from './anthropic-mock.js';

/** The pinned development dependency's native executable (no network, no global install). */
function claudeExecutable(): string {
  const pkg = createRequire(import.meta.url).resolve('@anthropic-ai/claude-code/package.json');
  const bin = path.join(path.dirname(pkg), 'bin', 'claude.exe');
  assert.ok(fs.existsSync(bin), `the pinned @anthropic-ai/claude-code has no ${bin}: run npm ci`);
  return bin;
}

const FRONT_MATTER: Record<string, Record<string, string>> = {
  review: { review_status: 'approved' },
  testing: { tests_status: 'passed' },
  'deploy-staging': { staging_status: 'ok' },
  deploy: { deploy_status: 'ok' },
};

test('the real Claude Code CLI, against a local Messages API, carries a task to a merged main with usage and cost recorded', { timeout: 240_000 }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-claude-e2e-'));
  const mock = await AnthropicMock.start({
    frontMatter: (stage) => ({ stage, ...(FRONT_MATTER[stage] ?? {}) }),
    extraFiles: (stage): Record<string, string> => (stage === 'development' ? { 'src/farewell.js': 'export const farewell = (name) => `Goodbye, ${name}!`;\n' } : {}),
  });
  // The CLI sees only Conveyor's allowlist (ANTHROPIC_*, CLAUDE_*, HOME …): point it at
  // the mock, keep its state in the temp dir (not the real home), and keep it offline.
  const env: Record<string, string> = {
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-offline',
    CLAUDE_CONFIG_DIR: path.join(dataDir, 'claude-config'),
    HOME: path.join(dataDir, 'home'),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_DISABLE_BACKGROUND_TASKS: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
  };
  fs.mkdirSync(env.HOME!, { recursive: true });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);

  const config = embeddedConfig({ dataDir, maxConcurrency: 1, autoApprove: true }) as { plugins: Record<string, unknown> } & Record<string, unknown>;
  config.worker = { maxConcurrency: 1, pollIntervalMs: 100, agentTimeoutMs: 60_000, retryBudget: 0 };
  config.budgets = { taskUsd: 5 };
  config.plugins['agent-script'] = { enabled: false };
  config.plugins['agent-claude'] = {
    enabled: true,
    command: claudeExecutable(),
    permissionMode: 'acceptEdits',
    maxTurns: 4,
    extraArgs: ['--no-session-persistence'],
    logDir: path.join(dataDir, 'logs'),
  };
  const conveyor = await createConveyor({ config, plugins: BUNDLED_PLUGINS, logger: new RecordingLogger() });
  const events = new EventRecorder(conveyor.events);
  t.after(async () => {
    events.dispose();
    await conveyor.stop();
    await mock.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  await conveyor.start();

  const create = conveyor.routes.find((r: OwnedRoute) => r.method === 'POST' && r.url === '/tasks')!;
  const created = await create.handler({ params: {}, query: {}, headers: {}, body: { title: 'Add a farewell' } });
  const id = (created.body as { task: { id: number } }).task.id;
  // A stuck task fails the test at once, with the agent's log, instead of at the timeout.
  const stuck = async (why: string): Promise<never> => {
    const runs = await conveyor.store.agentRuns.listForTask(id);
    const log = runs.at(-1)?.logPath;
    throw new Error(`${why}; mock saw ${JSON.stringify(mock.requests)}; last log: ${log ? fs.readFileSync(log, 'utf8').slice(-3000) : 'none'}`);
  };
  for (const until = Date.now() + 220_000; !events.of('task.done').length; await new Promise((r) => setTimeout(r, 100))) {
    const blocked = events.of('task.blocked')[0];
    if (blocked) await stuck(`blocked: ${blocked.reason}`);
    const failed = events.of('gate.failed').find((g) => !g.rollbackTo);
    if (failed) await stuck(`gate ${failed.gate} failed at ${failed.stage}: ${failed.reason}`);
    if (Date.now() > until) await stuck('not done within 220 s');
  }

  const task = (await conveyor.store.tasks.get(id))!;
  assert.equal(task.stage, 'done');
  assert.ok(task.mergedAt);
  const origin = path.join(dataDir, 'origin', 'demo.git');
  const mainFiles = (await git(['ls-tree', '-r', '--name-only', 'main'], { cwd: origin })).stdout.split('\n');
  assert.ok(mainFiles.includes('src/farewell.js'), 'the file the model\'s tool use wrote is on main');
  for (const a of ['01-analysis', '02-architecture', '03-development', '04-review', '05-testing', '06-deploy-staging', '07-deploy']) assert.ok(mainFiles.includes(`docs/pipeline/${task.workItemId}/${a}.md`), a);

  const runs = await conveyor.store.agentRuns.listForTask(id);
  assert.deepEqual(runs.map((r) => r.role), ['analyst', 'architect', 'developer', 'reviewer', 'tester', 'deployer', 'deployer']);
  for (const r of runs) {
    assert.equal(r.exitCode, 0, `${r.role}: ${r.result}`);
    assert.match(r.result ?? '', /^Done: /);
    assert.ok(r.usage && r.usage.inputTokens > 0 && r.usage.outputTokens > 0, `${r.role} usage recorded`);
    assert.ok(r.usage.costUsd > 0, `${r.role} cost recorded`);
    assert.ok(r.usage.model, 'model recorded');
    assert.deepEqual(r.permissionDenials, []);
    assert.match(fs.readFileSync(r.logPath!, 'utf8').split('\n')[1]!, /"--max-budget-usd" "\d+(\.\d+)?"/, 'the task budget left was passed on');
  }
  assert.ok(mock.requests.length >= 14, 'a tool use and a final answer per run');
  assert.ok(mock.requests.some((r) => r.answer === 'tool_use' && r.stage === 'development'));
  const spent = runs.reduce((s, r) => s + (r.usage?.costUsd ?? 0), 0);
  assert.ok(spent > 0 && spent < 5);
});
