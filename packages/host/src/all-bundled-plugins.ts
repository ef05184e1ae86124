// Every bundled plugin imported at once, for embedders and the demo. The `conveyor`
// command imports from the manifest only the plugins a config turns on.
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
 * Every plugin the bundled host knows, imported, in the manifest's order (see
 * `BUNDLED_PLUGIN_MANIFEST` for what is on by default and why). For embedders that
 * pass them to `createConveyor()`; the config switches each on or off.
 */
export const BUNDLED_PLUGINS: readonly ConveyorPlugin[] = [trackerLocalPlugin, trackerPlanePlugin, forgeGitPlugin, forgeGiteaPlugin, agentScriptPlugin, agentClaudePlugin, lessonsPlugin, metricsPlugin, telegramTrackerPlugin, serialGatePlugin, taskDepsPlugin, mergeGatePlugin, coverageGatePlugin, deployStatusGuardPlugin, postDeployMonitorPlugin, dashboardPlugin, cancelPlugin, reconcilerPlugin, reaperPlugin] as unknown as ConveyorPlugin[];
