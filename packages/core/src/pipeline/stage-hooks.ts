import { ConveyorError } from '../errors.js';
import type { Task } from '../domain.js';

/** Runs after a compare-and-set moved a task into `stage`, by the winner only. */
export interface StageEnterHook {
  readonly plugin: string;
  readonly stage: string;
  /**
   * Runs after every hook that is not late, whatever the plugin order: for what must
   * come last, such as giving back the merge lease once the work done under it
   * (the coverage baseline's ratchet) is recorded.
   */
  readonly late?: boolean;
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

  /** The hooks of `stage`: registration order, late ones last. */
  for(stage: string): readonly StageEnterHook[] {
    const of = this.#hooks.filter((h) => h.stage === stage);
    return [...of.filter((h) => !h.late), ...of.filter((h) => h.late)];
  }

  count(): number {
    return this.#hooks.length;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
