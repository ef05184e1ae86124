import { Type, type Static } from '@sinclair/typebox';
import { underDataDir } from '@conveyor/core';

/** The permission modes `claude --permission-mode` accepts. */
export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk', 'auto'] as const;

/** Config section `plugins.agent-claude` (besides `enabled` and `repos`). */
export const agentClaudeConfigSchema = Type.Object({
  command: Type.String({
    minLength: 1,
    default: 'claude',
    description: 'The Claude Code executable (a name on PATH or a path); run directly, not through a shell.',
  }),
  model: Type.Optional(Type.String({ minLength: 1, description: 'Passed as `--model` (an alias like `sonnet` or a full id); the CLI default when unset.' })),
  maxTurns: Type.Optional(Type.Integer({ minimum: 1, description: 'Passed as `--max-turns`; hitting it fails the job without a retry.' })),
  permissionMode: Type.Union(
    PERMISSION_MODES.map((m) => Type.Literal(m)),
    { default: 'acceptEdits', description: 'Passed as `--permission-mode`.' },
  ),
  appendSystemPrompt: Type.Optional(Type.String({ description: 'Passed as `--append-system-prompt`: added to Claude Code\'s own system prompt for every role.' })),
  maxBudgetUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Passed as `--max-budget-usd`; hitting it fails the job without a retry.' })),
  allowedTools: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Passed comma-joined as `--allowedTools` (e.g. `Read`, `Edit`, `Bash(git *)`); omitted when empty.',
  }),
  extraArgs: Type.Array(Type.String(), { default: [], description: 'More CLI arguments, appended as given (e.g. `--add-dir`, `/srv/shared`).' }),
  passEnv: Type.Array(Type.String({ minLength: 1 }), {
    default: ['ANTHROPIC_*', 'CLAUDE_*'],
    description: 'Host environment variables the CLI may see besides PATH, HOME, locale and proxies (names, or prefixes ending in `*`). Conveyor\'s own secrets are never passed.',
  }),
  logDir: Type.String({
    ...underDataDir('logs'),
    minLength: 1,
    default: '.conveyor/logs',
    description: 'Where each run\'s stdout and stderr go, as `<logDir>/<workItem>/<stage>-<role>-<timestamp>.log`; relative to the config file\'s directory, `<instance.dataDir>/logs` when unset.',
  }),
});

/** The validated section, as the runner reads it. */
export type AgentClaudeConfig = Static<typeof agentClaudeConfigSchema>;
