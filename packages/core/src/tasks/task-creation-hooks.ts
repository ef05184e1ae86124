import { ConveyorError } from '../errors.js';

/** What a task-creation hook sees: the task about to be inserted. */
export interface TaskDraft {
  readonly repo: string;
  readonly trackerIssueId: string;
  readonly title: string;
}

/** What a hook may decide about the new task. */
export interface TaskCreationDecision {
  /** Cut the branch when the task's first job is claimed, from the freshest main (serial-gate). */
  deferBranchCut?: boolean;
}

export interface TaskCreationHook {
  readonly plugin: string;
  decide(draft: TaskDraft): TaskCreationDecision | void;
}

/**
 * Hooks consulted inside task creation, before the insert. Synchronous on purpose:
 * they run in the creation transaction and must not call out. A hook that throws
 * is logged by the caller and ignored (creating the task matters more).
 */
export class TaskCreationHooks {
  readonly #hooks: TaskCreationHook[] = [];
  #frozen = false;

  add(hook: TaskCreationHook): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add a task-creation hook of "${hook.plugin}": hooks are frozen once the instance is composed`);
    this.#hooks.push(hook);
  }

  list(): readonly TaskCreationHook[] {
    return this.#hooks;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
