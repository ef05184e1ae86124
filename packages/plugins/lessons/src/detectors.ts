import type { AgentRunStore, ConveyorEvents, Listener, TaskStore } from '@conveyor/core';
import type { LessonStore, NewLesson } from './lesson-store.js';
import { LessonKinds, LessonSlugs } from './slugs.js';

export interface DetectorDeps {
  store: LessonStore;
  tasks: TaskStore;
  agentRuns: AgentRunStore;
  /** De-duplication window: the same slug for the same task within it is recorded once. */
  windowMs: number;
}

type On = <E extends keyof ConveyorEvents>(event: E, listener: Listener<E>) => void;

/**
 * The four auto-detectors, as event listeners. They read and write only the
 * lessons table (and read tasks and runs for attribution): an observer cannot
 * change a gate, a transition or a core table.
 */
export function installDetectors(on: On, d: DetectorDeps): void {
  const record = (lesson: Omit<NewLesson, 'source'>) => d.store.recordOnce({ ...lesson, source: 'auto' }, d.windowMs);

  on('gate.failed', async (e) => {
    // Only a rollback is a lesson: a failing gate that leaves the task where it is
    // alerts people already, and a pending one is not a failure.
    if (!e.rollbackTo) return;
    const task = await d.tasks.get(e.taskId);
    const run = await d.agentRuns.latestForStage(e.taskId, e.stage);
    await record({
      slug: LessonSlugs.gateFailure(e.gate, e.stage),
      kind: LessonKinds.GateFailure,
      title: `${e.gate} failed at ${e.stage}; rolled back to ${e.rollbackTo}`,
      body: e.reason ?? '',
      repo: task?.repo ?? null,
      taskId: e.taskId,
      stage: e.stage,
      agent: run?.role ?? null,
      model: run?.usage?.model ?? null,
      runId: run?.id ?? null,
    });
  });

  on('merge.deferred', async (e) => {
    await record({
      slug: LessonSlugs.mergeHold(e.repo),
      kind: LessonKinds.MergeHold,
      title: `merge of ${e.repo} held: the merge lease was busy`,
      body: e.holder ? `held by ${e.holder}` : '',
      repo: e.repo,
      taskId: e.taskId,
      stage: null,
    });
  });

  on('job.retry_exhausted', async ({ job, error }) => {
    const task = await d.tasks.get(job.taskId);
    const run = await d.agentRuns.forJobAttempt(job.id, job.attempt);
    const role = job.role ?? job.kind;
    await record({
      slug: LessonSlugs.retryExhausted(role, job.stage),
      kind: LessonKinds.RetryExhausted,
      title: `${role} at ${job.stage} failed ${job.retries + 1} times`,
      body: error,
      repo: task?.repo ?? null,
      taskId: job.taskId,
      stage: job.stage,
      agent: job.role,
      model: run?.usage?.model ?? null,
      runId: run?.id ?? null,
    });
  });

  on('deploy.degraded', async (e) => {
    await record({
      slug: LessonSlugs.deployDegraded(e.repo),
      kind: LessonKinds.DeployDegraded,
      title: `deploy of ${e.repo} degraded`,
      body: e.reason,
      repo: e.repo,
      taskId: e.taskId,
      stage: 'deploy',
    });
  });
}
