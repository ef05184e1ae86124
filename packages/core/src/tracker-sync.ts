import type { ConveyorConfig } from './config/resolve-config.js';
import type { EventBus } from './events/event-bus.js';
import type { Logger } from './logger.js';
import type { AgentRunStore, TaskStore } from './persistence/ports.js';
import { artifactPath } from './ports/artifact-reader.js';
import type { Ports } from './ports/ports.js';
import type { TrackerRef } from './ports/tracker.js';
import type { Task } from './domain.js';
import { stageIndex, type Pipeline } from './pipeline/pipeline.js';
import { formatCostSummary, summarizeCosts } from './usage/usage.js';
import type { DeployPhaseStatus } from './deploy/deploy-status.js';

export interface TrackerSyncDeps {
  events: EventBus;
  ports: Ports;
  tasks: TaskStore;
  agentRuns: AgentRunStore;
  config: ConveyorConfig;
  pipeline: Pipeline;
  logger: Logger;
  deployStatus: DeployPhaseStatus;
}

/**
 * Tells the tracker what happened: the analyst started; the analyst finished (In
 * Review, the artefact link, a request for Approved/Rejected — never parsed back);
 * the deploy phases (Awaiting Deploy on entering deploy, Deploying when the deployer
 * starts, Monitoring after Deploy when a post-deploy window opens, all through the
 * deploy-status writer); done (Done and the cost summary); blocked (the reason).
 * These are observers: a tracker that is down costs a line in the log, never a
 * stage. Also removes the task's worktree at done.
 */
export function installTrackerSync(d: TrackerSyncDeps): TrackerSync {
  const s = d.config.statuses;
  const first = d.pipeline.stages[0]!.name;
  const ref = (t: { repo: string; trackerIssueId: string }): TrackerRef => ({ repo: t.repo, trackerIssueId: t.trackerIssueId });
  const tracker = () => d.ports.tracker();

  d.events.on('agent.started', async ({ job }) => {
    if (job.stage !== first || job.attempt !== 1 || !tracker()) return;
    const task = await d.tasks.get(job.taskId);
    if (task) await tracker()!.addComment(ref(task), `Conveyor: the ${job.role ?? 'analyst'} started on ${task.workItemId} (branch ${task.branch}).`);
  });


  d.events.on('task.stage_changed', async ({ task, to }) => {
    if (to !== 'deploy') return;
    await d.deployStatus.set(task.id, 'awaitingDeploy', { caller: 'tracker-sync', reason: 'entered deploy' });
  });

  d.events.on('agent.started', async ({ job }) => {
    if (job.stage !== 'deploy' || job.kind !== 'agent') return;
    await d.deployStatus.set(job.taskId, 'deploying', { caller: 'tracker-sync', reason: `the ${job.role ?? 'deployer'} started (attempt ${job.attempt})` });
  });

  // The post-deploy window is armed *before* the tracker hears of done, so the first
  // "Monitoring after Deploy" is legitimate (the task is already done by then); a
  // task that was not deployed (merged earlier) or whose repo is not watched goes to Done.
  d.events.on('task.stage_changed', async ({ task, from, to }) => {
    if (to !== 'done') return;
    const window = d.ports.postDeployWindow();
    let armed = false;
    if (from === 'deploy' && window) {
      try {
        armed = await window.arm(task);
      } catch (err) {
        d.logger.error({ taskId: task.id, err }, 'the post-deploy window could not be armed; the tracker goes to Done');
      }
    }
    if (armed) {
      await d.deployStatus.set(task.id, 'monitoring', { caller: 'tracker-sync', reason: 'deployed; post-deploy window opened' });
      return;
    }
    await tracker()?.setStatus(ref(task), s.done, { reason: 'task done' });
  });

  d.events.on('task.done', async ({ task }) => {
    const t = tracker();
    if (!t) return;
    const summary = formatCostSummary(task.workItemId, summarizeCosts(await d.agentRuns.listForTask(task.id)));
    await t.addComment(ref(task), summary);
  });

  // Its own listener: a tracker that is down must not keep the worktree around.
  d.events.on('task.done', async ({ task }) => {
    await d.ports.workspace()?.cleanup(task);
  });

  d.events.on('task.blocked', async ({ task, reason }) => {
    await tracker()?.addComment(ref(task), `Conveyor stopped on ${task.workItemId}: ${reason}`);
  });

  d.logger.debug({}, 'tracker sync installed');
  return {
    // Awaited by the engine *before* it emits `human.approval_needed`, so the issue
    // is In Review before anyone (a person, autoApprove) can answer.
    async approvalNeeded(task) {
      const t = tracker();
      if (!t) return;
      try {
        await t.setStatus(ref(task), s.inReview, { reason: 'analyst finished' });
        const file = artifactPath(task.workItemId, stageIndex(d.pipeline, task.stage), task.stage);
        const link = d.ports.forge()?.publicUrl(task.repo, file, task.branch) ?? file;
        await t.addComment(ref(task), `The analysis of ${task.workItemId} is ready: ${link}\nMove the issue to "${s.approved}" to go on, or "${s.rejected}" to have it redone.`);
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
