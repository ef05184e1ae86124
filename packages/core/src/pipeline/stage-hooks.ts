import type { Task } from '../domain.js';

/** Runs after a compare-and-set moved a task into `stage`, by the winner only. */
export interface StageEnterHook {
  readonly plugin: string;
  readonly stage: string;
  run(task: Task, change: { from: string; reason: string }): Promise<void>;
}

/**
 * Actions on entering a stage (deploy → done: merge, tracker Done, cost summary;
 * arming the post-deploy monitor). Hooks run in registration order after the move
 * has committed; each is isolated, so one failing hook is logged and the next runs.
 */
export class StageHooks {
  readonly #hooks: StageEnterHook[] = [];
  #frozen = false;

  onEnter(hook: StageEnterHook): void {
    if (this.#frozen) throw new Error(`cannot add a stage hook for "${hook.stage}" after start`);
    this.#hooks.push(hook);
  }

  removeOwner(plugin: string): void {
    for (let i = this.#hooks.length - 1; i >= 0; i--) if (this.#hooks[i]!.plugin === plugin) this.#hooks.splice(i, 1);
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
