import type { ConveyorConfig } from './config/resolve-config.js';
import type { EventBus } from './events/event-bus.js';
import type { Logger } from './logger.js';
import type { AgentRunStore, NewOutboxEntry, OutboxEntry, TaskStore } from './persistence/ports.js';
import { artifactPath } from './ports/artifact-reader.js';
import type { Ports } from './ports/ports.js';
import type { TrackerRef } from './ports/tracker.js';
import type { Task } from './domain.js';
import { stageIndex, type Pipeline } from './pipeline/pipeline.js';
import type { Outbox } from './outbox/outbox.js';
import { formatCostSummary, summarizeCosts } from './usage/usage.js';
import type { DeployPhase, DeployPhaseStatus } from './deploy/deploy-status.js';

export interface TrackerSyncDeps {
  events: EventBus;
  ports: Ports;
  tasks: TaskStore;
  agentRuns: AgentRunStore;
  config: ConveyorConfig;
  pipeline: Pipeline;
  logger: Logger;
  deployStatus: DeployPhaseStatus;
  outbox: Outbox;
}

type NewEffect = Omit<NewOutboxEntry, 'claimedBy' | 'claimedUntil'>;

const ref = (t: { repo: string; trackerIssueId: string }): TrackerRef => ({ repo: t.repo, trackerIssueId: t.trackerIssueId });

/**
 * What a stage move must cause outside the database, as outbox rows written in the
 * move's own transaction: entering deploy sets the tracker to Awaiting Deploy
 * (through the deploy-status writer); done opens the post-deploy window when the
 * task was deployed and its repo is watched, then says Monitoring after Deploy or
 * Done, posts the cost summary and removes the worktree. Written with the move, a
 * crash right after it loses none of them (they were once fire-and-forget
 * listeners, and a kill at the wrong moment left an issue In Progress for good).
 *
 * `moveId` tells two entries into the same stage apart (a task rolled back enters
 * deploy again); done happens once per task, so its keys need none.
 */
export function transitionEffects(task: Task, from: string, to: string, moveId: string): NewEffect[] {
  const at = (effect: string, suffix = '') => `${effect}:task-${task.id}:${to}${suffix}`;
  if (to === 'deploy') return [{ taskId: task.id, effect: 'tracker.deploy-phase', key: at('tracker.deploy-phase', `:${moveId}`), payload: { phase: 'awaitingDeploy', reason: 'entered deploy' } }];
  if (to !== 'done') return [];
  return [
    { taskId: task.id, effect: 'tracker.done', key: at('tracker.done'), payload: { from } },
    { taskId: task.id, effect: 'cost-summary', key: at('cost-summary'), payload: {} },
    { taskId: task.id, effect: 'workspace.cleanup', key: at('workspace.cleanup'), payload: {} },
  ];
}

/**
 * The handlers of the tracker and workspace effects. Each is safe to run twice:
 * a status set twice is the same status, a comment carries its row's key as the
 * tracker's idempotency key, a removed worktree is removed again as a no-op.
 */
export function registerTrackerEffects(d: TrackerSyncDeps): void {
  const task = async (e: OutboxEntry): Promise<Task | null> => (e.taskId === null ? null : d.tasks.get(e.taskId));
  d.outbox.register('core', 'tracker.status', async (e) => {
    const [t, tracker] = [await task(e), d.ports.tracker()];
    if (t && tracker) await tracker.setStatus(ref(t), String(e.payload.status), { reason: String(e.payload.reason ?? '') });
  });
  d.outbox.register('core', 'tracker.deploy-phase', async (e) => {
    if (e.taskId === null) return;
    // Run late (a retry, a restart): the deployer may already have started and said
    // Deploying; Awaiting Deploy must not overwrite it.
    if (e.payload.phase === 'awaitingDeploy') {
      const runs = await d.agentRuns.listForTask(e.taskId);
      if (runs.some((r) => r.stage === 'deploy' && r.startedAt.getTime() >= e.createdAt.getTime())) return;
    }
    await d.deployStatus.set(e.taskId, e.payload.phase as DeployPhase, { caller: 'tracker-sync', reason: String(e.payload.reason ?? '') }, { rethrow: true });
  });
  // The post-deploy window is armed *before* the tracker hears of done, so the first
  // "Monitoring after Deploy" is legitimate (the task is already done by then); a task
  // that was not deployed (merged earlier) or whose repo is not watched goes to Done.
  // Arming is idempotent: a run again after a crash finds the window already open.
  d.outbox.register('core', 'tracker.done', async (e) => {
    const t = await task(e);
    if (!t) return;
    const window = d.ports.postDeployWindow();
    let armed = false;
    if (e.payload.from === 'deploy' && window) {
      try {
        armed = await window.arm(t);
      } catch (err) {
        d.logger.error({ taskId: t.id, err }, 'the post-deploy window could not be armed; the tracker goes to Done');
      }
    }
    if (armed) await d.deployStatus.set(t.id, 'monitoring', { caller: 'tracker-sync', reason: 'deployed; post-deploy window opened' }, { rethrow: true });
    else await d.ports.tracker()?.setStatus(ref(t), d.config.statuses.done, { reason: 'task done' });
  });
  d.outbox.register('core', 'tracker.comment', async (e) => {
    const [t, tracker] = [await task(e), d.ports.tracker()];
    if (t && tracker) await tracker.addComment(ref(t), String(e.payload.body), { idempotencyKey: e.key });
  });
  d.outbox.register('core', 'cost-summary', async (e) => {
    const [t, tracker] = [await task(e), d.ports.tracker()];
    if (!t || !tracker) return;
    const summary = formatCostSummary(t.workItemId, summarizeCosts(await d.agentRuns.listForTask(t.id)));
    await tracker.addComment(ref(t), summary, { idempotencyKey: e.key });
  });
  d.outbox.register('core', 'workspace.cleanup', async (e) => {
    const t = await task(e);
    if (t) await d.ports.workspace()?.cleanup(t);
  });
}

/**
 * Tells the tracker what happened: the analyst started; the analyst finished (In
 * Review, the artefact link, a request for Approved/Rejected — never parsed back);
 * Deploying when the deployer starts (through the deploy-status writer); blocked
 * (the reason). These are observers: a tracker that is down costs a line in the
 * log, never a stage. What a stage move causes (Awaiting Deploy, Monitoring after
 * Deploy or Done, the cost summary, the worktree's removal) is stored with the
 * move: see `transitionEffects`.
 */
export function installTrackerSync(d: TrackerSyncDeps): TrackerSync {
  const s = d.config.statuses;
  const first = d.pipeline.stages[0]!.name;
  const tracker = () => d.ports.tracker();
  registerTrackerEffects(d);

  d.events.on('agent.started', async ({ job }) => {
    if (job.stage !== first || job.attempt !== 1 || !tracker()) return;
    const task = await d.tasks.get(job.taskId);
    if (task) await tracker()!.addComment(ref(task), `Conveyor: the ${job.role ?? 'analyst'} started on ${task.workItemId} (branch ${task.branch}).`, { idempotencyKey: `agent-started:task-${task.id}:${job.stage}:job-${job.id}` });
  });

  // Deploying is a moment, not a move: a listener (a kill loses only that label, the
  // next deploy-phase write or Done replaces it).
  d.events.on('agent.started', async ({ job }) => {
    if (job.stage !== 'deploy' || job.kind !== 'agent') return;
    await d.deployStatus.set(job.taskId, 'deploying', { caller: 'tracker-sync', reason: `the ${job.role ?? 'deployer'} started (attempt ${job.attempt})` });
  });

  d.events.on('task.blocked', async ({ task, reason }) => {
    await tracker()?.addComment(ref(task), `Conveyor stopped on ${task.workItemId}: ${reason}`);
  });

  d.logger.debug({}, 'tracker sync installed');
  return {
    // Awaited by the approval-request effect *before* it emits `human.approval_needed`, so the issue
    // is In Review before anyone (a person, autoApprove) can answer.
    async approvalNeeded(task) {
      const t = tracker();
      if (!t) return;
      try {
        await t.setStatus(ref(task), s.inReview, { reason: 'analyst finished' });
        const file = artifactPath(task.workItemId, stageIndex(d.pipeline, task.stage), task.stage);
        const link = d.ports.forge()?.publicUrl(task.repo, file, task.branch) ?? file;
        const started = task.humanReviewStartedAt?.getTime() ?? 0;
        await t.addComment(ref(task), `The analysis of ${task.workItemId} is ready: ${link}\nMove the issue to "${s.approved}" to go on, or "${s.rejected}" to have it redone.`, { idempotencyKey: `approval-request:task-${task.id}:${task.stage}:${started}` });
      } catch (err) {
        d.logger.warn({ taskId: task.id, err }, 'tracker update for the approval request failed');
      }
    },
  };
}

/** The tracker updates that must happen in order with the pipeline (awaited, never throwing). */
export interface TrackerSync {
  approvalNeeded(task: Task): Promise<void>;
}
