import { TERMINAL_STAGES, type OwnedRoute, type Task, type WaitingFor } from '@conveyor/core';

/** What a person can do to a task from its page, and why not when they cannot. */
export interface TaskAction {
  id: 'approve' | 'reject' | 'stop' | 'retry' | 'budget' | 'confirm-deploy';
  label: string;
  method: 'POST';
  url: string;
  /** What the action asks for first: a comment (reject) or an amount (budget). */
  input: 'comment' | 'usd' | null;
  enabled: boolean;
  /** Why it is disabled; null when enabled. */
  reason: string | null;
}

/**
 * The routes the bundled host serves itself (not a plugin's): they exist whenever
 * the dashboard does. Others are looked up among the instance's plugin routes.
 */
export const HOST_ACTION_ROUTES: readonly string[] = ['POST /tasks/:id/stop', 'POST /tasks/:id/retry', 'POST /tasks/:id/confirm-deploy', 'POST /tasks/:id/budget'];

/** Decides each action's state from what the API offers and the task's stored state. */
export function taskActions(task: Task, waitingFor: WaitingFor, routes: readonly Pick<OwnedRoute, 'method' | 'url' | 'plugin'>[], options: { canCancel: boolean }): TaskAction[] {
  const has = (url: string): boolean => HOST_ACTION_ROUTES.includes(`POST ${url}`) || routes.some((r) => r.method === 'POST' && r.url === url);
  const terminal = (TERMINAL_STAGES as readonly string[]).includes(task.stage);
  const finished = terminal ? `the task is ${task.stage}` : null;
  const needsVerdict = waitingFor.reasons.some((r) => r.kind === 'human_approval');
  const url = (tail: string): string => `/tasks/${task.id}/${tail}`;
  const make = (id: TaskAction['id'], label: string, tail: string, input: TaskAction['input'], missing: string, refuse: string | null): TaskAction => {
    const routeUrl = `/tasks/:id/${tail}`;
    const reason = !has(routeUrl) ? missing : refuse;
    return { id, label, method: 'POST', url: url(tail), input, enabled: reason === null, reason };
  };
  const verdict = finished ?? (needsVerdict ? null : 'the task does not wait for a person\'s verdict');
  return [
    make('approve', 'Approve', 'approve', null, 'no approve route on this host: give the verdict in the tracker', verdict),
    make('reject', 'Reject', 'reject', 'comment', 'no reject route on this host: give the verdict in the tracker', verdict),
    // The stop route always exists, but without a canceller it only records the request.
    make('stop', 'Stop', 'stop', null, 'no stop route on this host', finished ?? (!options.canCancel ? 'the cancel plugin is not enabled' : task.cancelRequestedAt ? 'a stop was already requested' : null)),
    make('retry', 'Retry', 'retry', null, 'no retry route on this host', finished ?? (task.blockedAt ? null : 'not blocked')),
    make('budget', 'Set budget', 'budget', 'usd', 'no budget route on this host', finished),
    make('confirm-deploy', 'Confirm deploy', 'confirm-deploy', null, 'no deploy confirmation route on this host', finished ?? (waitingFor.reasons.some((r) => r.kind === 'deploy_confirmation') ? null : 'the task does not wait for a deploy confirmation')),
  ];
}
