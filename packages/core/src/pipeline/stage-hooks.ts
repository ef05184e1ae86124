import { ConveyorError } from '../errors.js';
import type { Task } from '../domain.js';

/** Runs after a compare-and-set moved a task into `stage`, by the winner only. */
export interface StageEnterHook {
  readonly plugin: string;
  readonly stage: string;
  run(task: Task, change: { from: string; reason: string }): Promise<void>;
}

/**
 * Actions on entering a stage (arming the post-deploy monitor, a plugin's own
 * bookkeeping). The merge itself is the `pr_merged` gate; tracker Done and the cost
 * summary are tracker-sync listeners. Hooks run in registration order after the move
 * has committed; each is isolated, so one failing hook is logged and the next runs.
 */
export class StageHooks {
  readonly #hooks: StageEnterHook[] = [];
  #frozen = false;

  onEnter(hook: StageEnterHook): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add a stage hook for "${hook.stage}": hooks are frozen once the instance is composed`);
    this.#hooks.push(hook);
  }

  for(stage: string): readonly StageEnterHook[] {
    return this.#hooks.filter((h) => h.stage === stage);
  }

  count(): number {
    return this.#hooks.length;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
