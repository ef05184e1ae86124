import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CoreTokens, type AgentRunner, type ConveyorError } from '@conveyor/core';
import { createTestConveyor } from '@conveyor/core/testing';
import { agentClaudePlugin, ClaudeAgentRunner } from '../src/index.js';
import { fakeClaude } from './fake-claude.js';

test('enabled: the Claude runner is bound as the AgentRunner and runs the configured command', { timeout: 10_000 }, async (t) => {
  const fake = fakeClaude(t);
  const kit = await createTestConveyor({
    plugins: [agentClaudePlugin],
    fakes: false,
    config: { plugins: { 'agent-claude': { enabled: true, command: fake.command, model: 'opus', logDir: fake.logDir } } },
  });
  t.after(() => kit.cleanup());
  const runner = kit.conveyor.container.resolve<AgentRunner>(CoreTokens.AgentRunner);
  assert.ok(runner instanceof ClaudeAgentRunner);
  assert.equal(runner.name, 'claude');
  const res = await runner.run(fake.request({ output: 'claude-result-success.json' }));
  assert.equal(res.exitCode, 0);
  assert.deepEqual(fake.record().argv.slice(4, 6), ['--model', 'opus']);
});

test('defaults fill the section; an unknown permission mode is a config error', { timeout: 10_000 }, async (t) => {
  const kit = await createTestConveyor({ plugins: [agentClaudePlugin], fakes: false });
  t.after(() => kit.cleanup());
  const section = kit.conveyor.config.plugins['agent-claude'];
  assert.deepEqual(
    { ...section },
    { enabled: false, repos: [], command: 'claude', permissionMode: 'acceptEdits', allowedTools: [], extraArgs: [], passEnv: ['ANTHROPIC_*', 'CLAUDE_*'], logDir: path.join(kit.conveyor.config.instance.dataDir, 'logs') },
  );
  await assert.rejects(
    createTestConveyor({ plugins: [agentClaudePlugin], fakes: false, config: { plugins: { 'agent-claude': { permissionMode: 'yolo' } } } }),
    (err: ConveyorError) => err.code === 'CONVEYOR_CONFIG_INVALID' && err.message.includes('plugins.agent-claude.permissionMode'),
  );
});

test('disabled: no AgentRunner is bound', { timeout: 10_000 }, async (t) => {
  const kit = await createTestConveyor({ plugins: [agentClaudePlugin], fakes: false, config: { plugins: { 'agent-claude': { enabled: false } } } });
  t.after(() => kit.cleanup());
  assert.equal(kit.conveyor.container.isRegistered(CoreTokens.AgentRunner, true), false);
});
