import { budgetStatus, KeyedMutex, toError, type AgentRunStore, type BudgetsConfig, type Logger, type Notification, type NotifierPort, type Pipeline, type Task, type TaskStore } from '@conveyor/core';
import { renderTracker } from './render.js';
import { TelegramError, type TelegramClient } from './telegram-client.js';

export interface LiveTrackerDeps {
  client: TelegramClient;
  chatId: string;
  tasks: TaskStore;
  agentRuns: AgentRunStore;
  pipeline: Pipeline;
  budgets: BudgetsConfig;
  logger: Logger;
  now: () => number;
  artefactsUrl?: (task: Task) => string | null;
}

/**
 * The Telegram side of the notifier port: one live message per task, edited in
 * place (silently) on every transition, its id stored on the task; separate,
 * notifying messages for what needs a person. Updates of one task are serialised
 * in this process, so two events at once never send two messages.
 */
export class TelegramLiveTracker implements NotifierPort {
  readonly name = 'telegram';
  readonly #perTask = new KeyedMutex();

  constructor(private readonly d: LiveTrackerDeps) {}

  /** A separate message that notifies (sound on): approvals, failures, alerts. */
  async notify(n: Notification): Promise<void> {
    await this.d.client.sendMessage(this.d.chatId, n.text, { silent: false });
  }

  /** Renders the task now and edits its message, or sends the first (or a replacement) one. */
  updateTaskTracker(task: Task): Promise<void> {
    return this.#perTask.run(String(task.id), () => this.#update(task.id));
  }

  async #update(taskId: number): Promise<void> {
    const task = await this.d.tasks.get(taskId);
    if (!task) return;
    const runs = await this.d.agentRuns.listForTask(task.id);
    const transitions = task.stage === 'done' ? await this.d.tasks.transitions(task.id) : [];
    const text = renderTracker({
      task,
      runs,
      pipeline: this.d.pipeline,
      budget: budgetStatus(this.d.budgets, task, runs, task.stage),
      finishedAt: transitions.at(-1)?.at ?? null,
      now: new Date(this.d.now()),
      artefactsUrl: this.d.artefactsUrl?.(task) ?? null,
    });
    if (task.trackerMessageId) {
      try {
        const out = await this.d.client.editMessageText(this.d.chatId, task.trackerMessageId, text);
        this.d.logger.debug({ taskId, messageId: task.trackerMessageId, out }, 'telegram tracker edited');
        return;
      } catch (err) {
        // A 429 we would not wait for is no reason to post a duplicate: the next transition renders everything again.
        if (err instanceof TelegramError && err.errorCode === 429) throw err;
        this.d.logger.warn({ taskId, messageId: task.trackerMessageId, err: toError(err) }, 'telegram edit failed (message deleted?); sending a new tracker message');
      }
    }
    const id = await this.d.client.sendMessage(this.d.chatId, text, { silent: true });
    await this.d.tasks.setTrackerMessageId(task.id, id);
  }
}
