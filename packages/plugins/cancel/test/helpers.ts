import type { Task } from '@conveyor/core';
import { createTestConveyor, taskAtStage, type ScriptedRun, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import type { AgentRunRequest, ConveyorPlugin } from '@conveyor/core';
import { cancelPlugin } from '../src/index.js';

export const REPO = 'acme/app';

/** A kit with the cancel plugin (a fast sweep) and whatever else the test adds. */
export function cancelKit(dialect: TestDialect, options: { config?: Record<string, unknown>; agent?: (req: AgentRunRequest, i: number) => ScriptedRun; plugins?: ConveyorPlugin[] } = {}): Promise<TestConveyor> {
  const config = options.config ?? {};
  const plugins = (config.plugins as Record<string, unknown> | undefined) ?? {};
  return createTestConveyor({
    dialect,
    plugins: [cancelPlugin, ...(options.plugins ?? [])],
    ...(options.agent ? { agent: options.agent } : {}),
    config: { repos: { [REPO]: {} }, ...config, plugins: { ...plugins, cancel: { sweepIntervalMs: 50, killGraceMs: 500, ...((plugins.cancel as object) ?? {}) } } },
  });
}

/** A task parked at `stage` whose branch is on the (fake) forge. */
export async function parkedTask(kit: TestConveyor, issue: string, stage: string): Promise<Task> {
  const task = await taskAtStage(kit, REPO, issue, stage);
  kit.forge.setHead(REPO, task.branch, `sha-${task.id}`);
  return task;
}

/** Queues the stage's agent job for a parked task, as the stage engine would. */
export async function queueAgent(kit: TestConveyor, task: Task, role: string) {
  const job = await kit.conveyor.store.jobs.enqueue({ taskId: task.id, stage: task.stage, kind: 'agent', role });
  kit.conveyor.events.emit('job.enqueued', { job: job! });
  return job!;
}

/** A promise and its resolve, for a fake agent a test ends by hand. */
export function latch<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
