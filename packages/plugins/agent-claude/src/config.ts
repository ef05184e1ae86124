import { Type, type Static } from '@sinclair/typebox';
import { underDataDir } from '@conveyor/core';

/**
 * The permission modes `claude --permission-mode` accepts. Claude Code 2.1.3xx
 * lists `manual` (what older versions called `default`, which it still takes).
 */
export const PERMISSION_MODES = ['default', 'manual', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk', 'auto'] as const;

/**
 * Host variables the CLI always sees besides PATH, HOME, locale and proxies: its
 * credentials and settings, and `IS_SANDBOX` (which lets it run as root with
 * `bypassPermissions`). `passEnv` adds to these.
 */
export const DEFAULT_PASS_ENV: readonly string[] = ['ANTHROPIC_*', 'CLAUDE_*', 'IS_SANDBOX'];

/** Config section `plugins.agent-claude` (besides `enabled` and `repos`). */
export const agentClaudeConfigSchema = Type.Object({
  command: Type.String({
    minLength: 1,
    default: 'claude',
    description: 'The Claude Code executable: a name on PATH, or a path (a relative one is from the config file\'s directory, never the task\'s worktree); run directly, not through a shell.',
  }),
  model: Type.Optional(Type.String({ minLength: 1, description: 'Passed as `--model` (an alias like `sonnet` or a full id); the CLI default when unset.' })),
  maxTurns: Type.Optional(Type.Integer({ minimum: 1, description: 'Passed as `--max-turns`; hitting it fails the job without a retry.' })),
  permissionMode: Type.Union(
    PERMISSION_MODES.map((m) => Type.Literal(m)),
    { default: 'acceptEdits', description: 'Passed as `--permission-mode`.' },
  ),
  appendSystemPrompt: Type.Optional(Type.String({ description: 'Passed as `--append-system-prompt`: added to Claude Code\'s own system prompt for every role.' })),
  maxBudgetUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Per-run cap passed as `--max-budget-usd`; with a task or stage budget (`budgets`) the CLI gets the smaller of this and what the budget leaves. A run stopped by what the budget leaves blocks the task (reason `budget`) until it is raised; one stopped by this cap fails the job without a retry.' })),
  allowedTools: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Passed comma-joined as `--allowedTools` (e.g. `Read`, `Edit`, `Bash(git *)`); omitted when empty.',
  }),
  extraArgs: Type.Array(Type.String(), { default: [], description: 'More CLI arguments, appended as given (e.g. `--add-dir`, `/srv/shared`).' }),
  passEnv: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'More host environment variables the CLI may see (names, or prefixes ending in `*`, e.g. `AWS_*` for Bedrock, `GIT_AUTHOR_*`), added to the default allowlist: PATH, HOME, locale, proxies, `ANTHROPIC_*`, `CLAUDE_*`, `IS_SANDBOX`. Conveyor\'s own secrets are never passed.',
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
