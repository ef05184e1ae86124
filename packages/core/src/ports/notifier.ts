import type { Task } from '../domain.js';
import type { Logger } from '../logger.js';

export type NotificationKind =
  | 'approval_needed'
  | 'deploy_failed'
  | 'agent_failed'
  | 'task_error'
  | 'alert';

export interface Notification {
  kind: NotificationKind;
  text: string;
  task?: Task;
}

/**
 * Where people hear from Conveyor. The default logs; telegram-tracker provides a
 * Telegram implementation. `updateTaskTracker` keeps one live message per task.
 */
export interface NotifierPort {
  readonly name: string;
  notify(notification: Notification): Promise<void>;
  updateTaskTracker?(task: Task): Promise<void>;
}

/** The default notifier: one structured log line per notification. */
export class LogNotifier implements NotifierPort {
  readonly name = 'log';
  constructor(private readonly logger: Logger) {}
  async notify(n: Notification): Promise<void> {
    this.logger.warn({ notification: n.kind, taskId: n.task?.id, workItem: n.task?.workItemId }, n.text);
  }
}

/**
 * Sends a notification if a notifier is bound; a notifier that fails costs a log
 * line, never the operation that wanted people to know.
 */
export async function notifySafely(notifier: NotifierPort | null, n: Notification, logger: Logger): Promise<void> {
  if (!notifier) return;
  try {
    await notifier.notify(n);
  } catch (err) {
    logger.warn({ taskId: n.task?.id, notification: n.kind, err }, 'notifier failed');
  }
}
