/**
 * @conveyor/plugin-agent-script — runs a configured command per agent role. The
 * demo and the end-to-end tests use it with scripted agents.
 */
import { Type } from '@sinclair/typebox';
import { CoreTokens, definePlugin, underDataDir } from '@conveyor/core';
import { ScriptAgentRunner } from './script-runner.js';

export { ScriptAgentRunner, type ScriptRunnerOptions } from './script-runner.js';

export const agentScriptConfigSchema = Type.Object({
  commands: Type.Record(Type.String(), Type.String({ minLength: 1 }), {
    default: {},
    description: 'Command line per role (analyst, architect, developer, reviewer, tester, deployer), run with /bin/sh -c in the worktree.',
  }),
  defaultCommand: Type.Optional(Type.String({ minLength: 1, description: 'Command for roles without their own entry.' })),
  passEnv: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Host environment variables the commands may see besides PATH, HOME, locale and proxies (names, or prefixes ending in `*`). Conveyor\'s own secrets are never passed.' }),
  logDir: Type.String({ ...underDataDir('logs'), default: '.conveyor/logs', description: 'Where run logs and prompts are written; relative to the config file\'s directory, `<instance.dataDir>/logs` when unset.' }),
  killGraceMs: Type.Integer({ minimum: 0, default: 2000, description: 'SIGTERM → SIGKILL grace when a run is killed.' }),
});

/** Binds `ScriptAgentRunner` as the instance's agent runner. */
export const agentScriptPlugin = definePlugin({
  name: 'agent-script',
  configSchema: agentScriptConfigSchema,
  register(ctx) {
    const c = ctx.config;
    ctx.provide(
      CoreTokens.AgentRunner,
      new ScriptAgentRunner({ commands: c.commands, logDir: c.logDir, killGraceMs: c.killGraceMs, passEnv: c.passEnv, ...(c.defaultCommand ? { defaultCommand: c.defaultCommand } : {}) }),
    );
    ctx.snapshot(() => ({ roles: Object.keys(c.commands), defaultCommand: c.defaultCommand ?? null }));
  },
});
