import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConveyorPlugin } from '@conveyor/core';
import { agentClaudePlugin } from '@conveyor/plugin-agent-claude';
import { agentScriptPlugin } from '@conveyor/plugin-agent-script';
import { forgeGitPlugin } from '@conveyor/plugin-forge-git';
import { forgeGiteaPlugin } from '@conveyor/plugin-forge-gitea';
import { lessonsPlugin } from '@conveyor/plugin-lessons';
import { metricsPlugin } from '@conveyor/plugin-metrics';
import { telegramTrackerPlugin } from '@conveyor/plugin-telegram-tracker';
import { trackerLocalPlugin } from '@conveyor/plugin-tracker-local';
import { trackerPlanePlugin } from '@conveyor/plugin-tracker-plane';
import { serialGatePlugin } from '@conveyor/plugin-serial-gate';
import { reaperPlugin } from '@conveyor/plugin-reaper';
import { taskDepsPlugin } from '@conveyor/plugin-task-deps';
import { mergeGatePlugin } from '@conveyor/plugin-merge-gate';
import { coverageGatePlugin } from '@conveyor/plugin-coverage-gate';
import { deployStatusGuardPlugin } from '@conveyor/plugin-deploy-status-guard';
import { postDeployMonitorPlugin } from '@conveyor/plugin-post-deploy-monitor';
import { dashboardPlugin } from '@conveyor/plugin-dashboard';
import { cancelPlugin } from '@conveyor/plugin-cancel';
import { reconcilerPlugin } from '@conveyor/plugin-reconciler';

/**
 * Every plugin the bundled host knows; the config file switches each on or off.
 * task-deps is on by default (inert until a dependency is declared); serial-gate
 * is opt-in (it changes the order work runs in); merge-gate is opt-in too (it
 * rebases task branches and runs the repo's test command before deploy), and
 * so is coverage-gate (listed after merge-gate: its gate runs after merge-gate's).
 * deploy-status-guard and post-deploy-monitor are on; the monitor is inert until a
 * repository has a health check. The dashboard is on: it only reads, and shows data
 * to those who may read the API. cancel is on by default: it only acts on a STOP. The reconciler is on: it acts only
 * where a webhook was missed.
 */
export const BUNDLED_PLUGINS: readonly ConveyorPlugin[] = [trackerLocalPlugin, trackerPlanePlugin, forgeGitPlugin, forgeGiteaPlugin, agentScriptPlugin, agentClaudePlugin, lessonsPlugin, metricsPlugin, telegramTrackerPlugin, serialGatePlugin, taskDepsPlugin, mergeGatePlugin, coverageGatePlugin, deployStatusGuardPlugin, postDeployMonitorPlugin, dashboardPlugin, cancelPlugin, reconcilerPlugin, reaperPlugin] as unknown as ConveyorPlugin[];

/** The demo's scripted agent (one script, the role as its argument). */
export const DEMO_AGENT = fileURLToPath(new URL('../../demo/agent.mjs', import.meta.url));

/** The environment variable the default config uses to find the demo agent. */
export const DEMO_AGENT_ENV = 'CONVEYOR_DEMO_AGENT';

/** The starter commit of the demo repository: a package whose tests run with `node --test`. */
export const DEMO_STARTER_FILES: Record<string, string> = {
  'README.md': '# demo\n\nA repository Conveyor works on in the demo.\n',
  'package.json': '{\n  "name": "conveyor-demo",\n  "private": true,\n  "type": "module",\n  "scripts": { "test": "node --test" }\n}\n',
  'smoke.test.js': "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n\ntest('the demo repository runs its tests', () => assert.ok(true));\n",
};

/**
 * The embedded default as a config object: SQLite, the local tracker, the local
 * git forge with a demo repository created on first start, the demo's scripted
 * agents. Everything lives under `dataDir`.
 */
export function embeddedConfig(options: { dataDir: string; maxConcurrency?: number; autoApprove?: boolean }): Record<string, unknown> {
  const dir = path.resolve(options.dataDir);
  return {
    instance: { dataDir: dir },
    database: { client: 'sqlite', filename: path.join(dir, 'conveyor.db') },
    workspaces: { root: path.join(dir, 'workspaces') },
    worker: { maxConcurrency: options.maxConcurrency ?? 2, pollIntervalMs: 500 },
    repos: { demo: { url: path.join(dir, 'origin', 'demo.git'), testCommand: 'node --test' } },
    plugins: {
      'tracker-local': { defaultRepo: 'demo', autoApprove: options.autoApprove ?? false },
      'forge-git': { initMissing: true, starterFiles: DEMO_STARTER_FILES, logDir: path.join(dir, 'logs') },
      'agent-script': { defaultCommand: `node "${DEMO_AGENT}" "$CONVEYOR_ROLE"`, logDir: path.join(dir, 'logs') },
      'agent-claude': { enabled: false },
      'tracker-plane': { enabled: false },
      'forge-gitea': { enabled: false },
    },
  };
}
