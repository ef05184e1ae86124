/**
 * @conveyor/plugin-agent-claude — binds `CoreTokens.AgentRunner` to a runner that
 * drives the Claude Code CLI (`claude -p … --output-format json`) per agent job.
 */
import path from 'node:path';
import { CoreTokens, definePlugin, type AgentRunner } from '@conveyor/core';
import { ClaudeAgentRunner } from './claude-agent-runner.js';
import { agentClaudeConfigSchema } from './config.js';

export * from './config.js';
export * from './claude-args.js';
export * from './claude-agent-runner.js';
export * from './probe.js';

/** The `agent-claude` plugin: every agent job runs through the Claude Code CLI. */
export const agentClaudePlugin = definePlugin({
  name: 'agent-claude',
  // Needs a URL, credentials or an installed CLI: opt-in, never started by surprise.
  enabledByDefault: false,
  configSchema: agentClaudeConfigSchema,
  register(ctx) {
    const command = resolveCommand(ctx.config.command, ctx.baseDir);
    const runner = new ClaudeAgentRunner({ ...ctx.config, command }, { logger: ctx.logger });
    ctx.provide<AgentRunner>(CoreTokens.AgentRunner, runner);
    ctx.logger.info({ command, model: ctx.config.model ?? null, permissionMode: ctx.config.permissionMode }, 'agent runner: claude');
  },
});

/**
 * A command with a slash is a path: a relative one is meant from the config file's
 * directory (`baseDir`). Left as is, it would be looked up from the agent's cwd —
 * the task's worktree, where an agent could plant its own `./bin/claude`. A bare
 * name is looked up on PATH.
 */
export function resolveCommand(command: string, baseDir: string): string {
  return command.includes('/') && !path.isAbsolute(command) ? path.resolve(baseDir, command) : command;
}
