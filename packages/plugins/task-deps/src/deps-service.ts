import { isTerminalStage, type Logger, type NotifierPort, type Task, type TaskStore } from '@conveyor/core';
import type { EventBus } from '@conveyor/core';
import { findCycle } from './cycle.js';
import type { DepStore, Dependency } from './dep-store.js';
import { TaskDepsError } from './errors.js';

export interface DepsServiceDeps {
  deps: DepStore;
  tasks: TaskStore;
  events: Pick<EventBus, 'emit'>;
  notifier: () => NotifierPort | null;
  logger: Logger;
}

/** Declares and removes dependencies; refuses cycles. */
export class DepsService {
  constructor(private readonly d: DepsServiceDeps) {}

  /**
   * `taskId` waits for `dependsOn` to end. A declaration that would close a cycle
   * is refused (`TASK_DEPS_CYCLE`, the cycle named) and changes nothing: a cycle
   * would hold every task in it forever.
   */
  async declare(taskId: number, dependsOn: number, source: Dependency['source'] = 'api'): Promise<{ added: boolean; dependency: Dependency }> {
    const [task, dep] = await Promise.all([this.d.tasks.get(taskId), this.d.tasks.get(dependsOn)]);
    if (!task) throw new TaskDepsError('TASK_DEPS_NOT_FOUND', `task ${taskId} does not exist`);
    if (!dep) throw new TaskDepsError('TASK_DEPS_NOT_FOUND', `task ${dependsOn} (the dependency) does not exist`);
    if (taskId === dependsOn) throw new TaskDepsError('TASK_DEPS_CYCLE', `task ${taskId} cannot depend on itself`, [ref(task)]);
    if (isTerminalStage(task.stage)) throw new TaskDepsError('TASK_DEPS_INVALID', `task ${taskId} is ${task.stage}: a finished task waits for nothing`);
    await this.#refuseCycle(task, dep);
    const added = await this.d.deps.add(taskId, dependsOn, source);
    if (added) {
      // Two declarations racing in opposite directions both pass the check above; the
      // second look sees the other's edge, and a racer that closed a cycle takes its own
      // edge back (at worst both do): a stored cycle would hold its tasks forever.
      try {
        await this.#refuseCycle(task, dep);
      } catch (err) {
        await this.d.deps.remove(taskId, dependsOn);
        throw err;
      }
    }
    const dependency = (await this.d.deps.of(taskId)).find((x) => x.dependsOn === dependsOn)!;
    if (added) this.d.logger.info({ taskId, dependsOn, source }, 'dependency declared');
    return { added, dependency };
  }

  async #refuseCycle(task: Task, dep: Task): Promise<void> {
    const cycle = await findCycle(this.d.deps, task.id, dep.id);
    if (!cycle) return;
    const named = await Promise.all(cycle.map(async (id) => (await this.d.tasks.get(id)) ?? { id, workItemId: `#${id}` }));
    throw new TaskDepsError('TASK_DEPS_CYCLE', `task ${task.workItemId} cannot depend on ${dep.workItemId}: that would close the cycle ${cycleText(named)}`, named.map(ref));
  }

  async remove(taskId: number, dependsOn: number): Promise<boolean> {
    const removed = await this.d.deps.remove(taskId, dependsOn);
    if (removed) this.d.logger.info({ taskId, dependsOn }, 'dependency removed');
    return removed;
  }

  /**
   * The tracker says these tasks depend on each other in a circle: the relation
   * cannot be refused at its source, so the tasks of the cycle are blocked with
   * the cycle named and people are alerted (they fix the relations in the tracker).
   */
  async blockCycle(cycle: readonly { id: number; workItemId: string }[]): Promise<void> {
    const reason = `dependency cycle ${cycleText(cycle)}: fix the "blocked by" relations in the tracker`;
    for (const { id } of new Map(cycle.map((c) => [c.id, c])).values()) {
      const task = await this.d.tasks.get(id);
      if (!task || isTerminalStage(task.stage)) continue;
      if (!(await this.d.tasks.block(id, task.stage, reason))) continue;
      const blocked = (await this.d.tasks.get(id)) as Task;
      this.d.events.emit('task.blocked', { task: blocked, reason });
    }
    try {
      await this.d.notifier()?.notify({ kind: 'alert', text: `task-deps: ${reason}` });
    } catch (err) {
      this.d.logger.warn({ err }, 'notifier failed');
    }
  }
}

const ref = (t: { id: number; workItemId: string }) => ({ id: t.id, workItemId: t.workItemId });

/** `ET-001 → ET-002 → ET-001`. */
export function cycleText(cycle: readonly { workItemId: string }[]): string {
  return cycle.map((c) => c.workItemId).join(' → ');
}
