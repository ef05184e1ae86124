import { ConveyorError } from '../errors.js';
import type { AgentRun, Job, Task } from '../domain.js';
import type { AgentRunResult } from '../ports/agent-runner.js';
import type { PullRequest } from '../ports/forge.js';

export interface FinalizeContext {
  task: Task;
  job: Job;
  run: AgentRun;
  result: AgentRunResult;
  worktree: string;
  /** Filled by earlier finalizers for later ones (the pushed head, the PR). */
  state: { headSha: string | null; pullRequest: PullRequest | null };
}

/**
 * A step after the agent's exit code and usage are recorded and before the job is
 * finished: commit and push, open or update the PR, post the tracker's finish
 * comment. Finalizers run in registration order; a throw makes the attempt a
 * transient failure (retried within the budget), because an unpushed result is
 * not a finished stage.
 */
export interface Finalizer {
  readonly plugin: string;
  readonly name: string;
  run(ctx: FinalizeContext): Promise<void>;
}

export class Finalizers {
  readonly #list: Finalizer[] = [];
  #frozen = false;

  add(f: Finalizer): void {
    if (this.#frozen) throw new ConveyorError('CONVEYOR_REGISTRY_FROZEN', `cannot add finalizer "${f.name}": finalizers are frozen once the instance is composed`);
    this.#list.push(f);
  }

  list(): readonly Finalizer[] {
    return this.#list;
  }

  freeze(): void {
    this.#frozen = true;
  }
}
