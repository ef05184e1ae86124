/**
 * @conveyor/plugin-agent-claude — binds `CoreTokens.AgentRunner` to a runner that
 * drives the Claude Code CLI (`claude -p … --output-format json`) per agent job.
 */
import { CoreTokens, definePlugin, type AgentRunner } from '@conveyor/core';
import { ClaudeAgentRunner } from './claude-agent-runner.js';
import { agentClaudeConfigSchema } from './config.js';

export * from './config.js';
export * from './claude-args.js';
export * from './claude-agent-runner.js';

/** The `agent-claude` plugin: every agent job runs through the Claude Code CLI. */
export const agentClaudePlugin = definePlugin({
  name: 'agent-claude',
  // Needs a URL, credentials or an installed CLI: opt-in, never started by surprise.
  enabledByDefault: false,
  configSchema: agentClaudeConfigSchema,
  register(ctx) {
    const runner = new ClaudeAgentRunner(ctx.config, { logger: ctx.logger });
    ctx.provide<AgentRunner>(CoreTokens.AgentRunner, runner);
    ctx.logger.info({ command: ctx.config.command, model: ctx.config.model ?? null, permissionMode: ctx.config.permissionMode }, 'agent runner: claude');
  },
});
