import type { ConveyorPlugin } from '@conveyor/core';

/**
 * What the host knows of a bundled plugin without importing it: its name (its config
 * section), the default of `enabled`, the GET paths answered while it is off, and how
 * to import it. `conveyor start` imports only the plugins that are on (and those whose
 * section asks for more than `enabled`, so it is checked against the plugin's schema).
 */
export interface BundledPluginEntry {
  readonly name: string;
  readonly enabledByDefault: boolean;
  readonly offRoutes?: readonly string[];
  load(): Promise<ConveyorPlugin>;
}

const plugin = (p: unknown): ConveyorPlugin => p as ConveyorPlugin;

/**
 * Every plugin the bundled host knows, in registration order; the config file switches
 * each on or off. task-deps is on by default (inert until a dependency is declared);
 * serial-gate is opt-in (it changes the order work runs in); merge-gate is opt-in too
 * (it rebases task branches and runs the repo's test command before deploy), and so is
 * coverage-gate (listed after merge-gate: its gate runs after merge-gate's).
 * deploy-status-guard and post-deploy-monitor are on; the monitor is inert until a
 * repository has a health check. The dashboard is on: it only reads, and shows data to
 * those who may read the API. cancel is on by default: it only acts on a STOP. The
 * reconciler is on: it acts only where a webhook was missed. The integrations that need
 * a URL and secrets (Plane, Gitea, Telegram, Claude) are opt-in.
 */
export const BUNDLED_PLUGIN_MANIFEST: readonly BundledPluginEntry[] = Object.freeze([
  { name: 'tracker-local', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-tracker-local')).trackerLocalPlugin) },
  { name: 'tracker-plane', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-tracker-plane')).trackerPlanePlugin) },
  { name: 'forge-git', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-forge-git')).forgeGitPlugin) },
  { name: 'forge-gitea', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-forge-gitea')).forgeGiteaPlugin) },
  { name: 'agent-script', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-agent-script')).agentScriptPlugin) },
  { name: 'agent-claude', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-agent-claude')).agentClaudePlugin) },
  { name: 'lessons', enabledByDefault: true, offRoutes: ['/lessons'], load: async () => plugin((await import('@conveyor/plugin-lessons')).lessonsPlugin) },
  { name: 'metrics', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-metrics')).metricsPlugin) },
  { name: 'telegram-tracker', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-telegram-tracker')).telegramTrackerPlugin) },
  { name: 'serial-gate', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-serial-gate')).serialGatePlugin) },
  { name: 'task-deps', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-task-deps')).taskDepsPlugin) },
  { name: 'merge-gate', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-merge-gate')).mergeGatePlugin) },
  { name: 'coverage-gate', enabledByDefault: false, load: async () => plugin((await import('@conveyor/plugin-coverage-gate')).coverageGatePlugin) },
  { name: 'deploy-status-guard', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-deploy-status-guard')).deployStatusGuardPlugin) },
  { name: 'post-deploy-monitor', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-post-deploy-monitor')).postDeployMonitorPlugin) },
  { name: 'dashboard', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-dashboard')).dashboardPlugin) },
  { name: 'cancel', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-cancel')).cancelPlugin) },
  { name: 'reconciler', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-reconciler')).reconcilerPlugin) },
  { name: 'reaper', enabledByDefault: true, load: async () => plugin((await import('@conveyor/plugin-reaper')).reaperPlugin) },
]);
