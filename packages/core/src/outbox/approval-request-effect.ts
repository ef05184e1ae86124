import type { EventBus } from '../events/event-bus.js';
import type { TaskStore } from '../persistence/ports.js';
import type { TrackerSync } from '../tracker-sync.js';
import type { Outbox } from './outbox.js';

/** The request to a person at the human gate: stored with the review window it opens. */
export const APPROVAL_REQUEST_EFFECT = 'approval-request';

/**
 * Tells the tracker (In Review, the analysis link), then emits
 * `human.approval_needed`, in that order, so nobody can answer before the issue says
 * so. Run again after a crash, it asks again only while that review is still open
 * (same stage, no verdict); the tracker's comment carries the window's key, so the
 * person reads it once.
 */
export function registerApprovalRequest(outbox: Outbox, d: { tasks: TaskStore; trackerSync: () => TrackerSync; events: EventBus }): void {
  outbox.register('core', APPROVAL_REQUEST_EFFECT, async (e) => {
    if (e.taskId === null) return;
    const task = await d.tasks.get(e.taskId);
    if (!task || task.stage !== e.payload.stage || task.humanVerdict || !task.humanReviewStartedAt || task.humanReviewEndedAt) return;
    await d.trackerSync().approvalNeeded(task);
    d.events.emit('human.approval_needed', { task });
  });
}
