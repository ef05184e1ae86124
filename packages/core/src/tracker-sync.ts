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

export interface TrackerSyncDeps {
  events: EventBus;
  ports: Ports;
  tasks: TaskStore;
  agentRuns: AgentRunStore;
  config: ConveyorConfig;
  pipeline: Pipeline;
  logger: Logger;
}

/**
 * Tells the tracker what happened: the analyst started; the analyst finished (In
 * Review, the artefact link, a request for Approved/Rejected — never parsed back);
 * the task entered deploy (Awaiting Deploy); done (Done and the cost summary);
 * blocked (the reason). These are observers: a tracker that is down costs a line
 * in the log, never a stage. Also removes the task's worktree at done.
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
    const t = tracker();
    if (!t || to !== 'deploy') return;
    await t.setStatus(ref(task), s.awaitingDeploy, { reason: 'entered deploy' });
  });

  d.events.on('task.done', async ({ task }) => {
    const t = tracker();
    if (!t) return;
    await t.setStatus(ref(task), s.done, { reason: 'task done' });
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
