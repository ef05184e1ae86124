/**
 * @conveyor/plugin-telegram-tracker — one live Telegram message per task, edited in
 * place on every transition, and the Telegram notifier for approvals, failures and alerts.
 */
import { CoreTokens, definePlugin, type Clock, type ConveyorEventName, type ForgePort, type Pipeline } from '@conveyor/core';
import { telegramConfigSchema } from './config.js';
import { TelegramLiveTracker } from './live-tracker.js';
import { TelegramClient } from './telegram-client.js';

export * from './config.js';
export * from './render.js';
export * from './telegram-client.js';
export { TelegramLiveTracker } from './live-tracker.js';

/** Events after which the live message is rendered again. */
export const TRACKER_EVENTS = ['task.created', 'task.stage_changed', 'task.blocked', 'task.unblocked', 'task.cancelled', 'task.done', 'agent.finished'] as const satisfies readonly ConveyorEventName[];

export interface TelegramPluginOptions {
  /** Injected HTTP client (tests: a fake server needs none). */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** Builds the plugin; `telegramTrackerPlugin` is it with the global fetch. */
export function createTelegramTrackerPlugin(options: TelegramPluginOptions = {}) {
  return definePlugin({
    name: 'telegram-tracker',
    // Needs a bot token and a chat: opt-in.
    enabledByDefault: false,
    configSchema: telegramConfigSchema,
    register(ctx) {
      const { botToken, chatId } = ctx.config;
      if (!botToken || !chatId) {
        throw new Error('plugins.telegram-tracker needs botToken (from the environment: botToken: ${TELEGRAM_BOT_TOKEN}) and chatId when enabled');
      }
      const client = new TelegramClient({
        baseUrl: ctx.config.apiBaseUrl,
        token: botToken,
        maxRetryAfterMs: ctx.config.maxRetryAfterMs,
        timeoutMs: ctx.config.requestTimeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
      });
      const clock = ctx.container.resolve<Clock>(CoreTokens.Clock);
      const tracker = new TelegramLiveTracker({
        client,
        chatId,
        tasks: ctx.stores.tasks,
        agentRuns: ctx.stores.agentRuns,
        pipeline: ctx.container.resolve<Pipeline>(CoreTokens.Pipeline),
        budgets: ctx.instanceConfig.budgets,
        logger: ctx.logger,
        now: () => clock.now(),
        artefactsUrl: (task) => {
          const forge = ctx.container.isRegistered(CoreTokens.Forge, true) ? ctx.container.resolve<ForgePort>(CoreTokens.Forge) : null;
          return forge && task.branchCut ? forge.publicUrl(task.repo, `docs/pipeline/${task.workItemId}`, task.branch) : null;
        },
      });
      ctx.provide(CoreTokens.Notifier, tracker);
      for (const event of TRACKER_EVENTS) {
        ctx.on(event, async (payload) => {
          const task = 'task' in payload ? payload.task : null;
          const taskId = task?.id ?? ('job' in payload ? payload.job.taskId : null);
          if (taskId === null) return;
          const fresh = task ?? (await ctx.stores.tasks.get(taskId));
          if (!fresh || !ctx.inScope(fresh.repo)) return;
          await tracker.updateTaskTracker(fresh);
        });
      }
      // Core asks for the verdict through the tracker; people hear it here, with sound.
      ctx.on('human.approval_needed', async ({ task }) => {
        if (ctx.inScope(task.repo)) await tracker.notify({ kind: 'approval_needed', text: `${task.workItemId} ${task.title}: the analysis waits for your verdict (approve or reject).`, task });
      });
      ctx.logger.info({ chatId }, 'telegram tracker and notifier');
    },
  });
}

/** The `telegram-tracker` plugin. */
export const telegramTrackerPlugin = createTelegramTrackerPlugin();
