import type { ConveyorConfig } from '../config/resolve-config.js';
import type { Job, Task } from '../domain.js';
import type { Stores } from '../persistence/ports.js';

/**
 * One thing a task waits for, as data and as a sentence. Contributed by whoever
 * holds the task back (a claim clause, a gate, a plugin's explainer), so no
 * central switch has to know every plugin.
 */
export interface WaitReason {
  /** Stable, snake_case: `queued_behind`, `repo_frozen`, `dependency`, `gate_pending`, `merge_lease`, `human_approval` … */
  readonly kind: string;
  /** Who explained it: `core` or the plugin's name. */
  readonly source: string;
  /** One plain sentence for people, saying what would end the wait where it can. */
  readonly text: string;
  /** The same facts as data (ids, stages, timestamps as ISO strings). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** What `GET /tasks/:id` answers: the reasons and one sentence made of them. */
export interface WaitingFor {
  /** `none` (terminal), `blocked`, `running`, `held`, `delayed`, `slot`, `gate`, `idle`, or a plugin's own kind. */
  readonly kind: string;
  readonly sentence: string;
  readonly reasons: readonly WaitReason[];
}

/**
 * What an explainer may read: the stored state only. No git, no forge, no
 * tracker: `GET /tasks/:id` must stay cheap and must not hold a repository lock.
 */
export interface WaitView {
  readonly task: Task;
  /** The task's queued or running job, if any. */
  readonly activeJob: Job | null;
  readonly stores: Stores;
  readonly config: ConveyorConfig;
  readonly now: Date;
}

/** A plugin's explanation of waits that are neither a claim clause nor a gate (a budget stop …). */
export interface WaitExplainer {
  readonly name: string;
  /** null when this explainer does not hold the task back. */
  explain(view: WaitView): Promise<WaitReason | null> | WaitReason | null;
}

/** The last non-passing verdict recorded for a task's exit edge (see `GateWaitStore`). */
export interface GateWait {
  taskId: number;
  stage: string;
  gate: string;
  verdict: 'fail' | 'pending' | 'defer';
  reason: string | null;
  /** When this gate first gave this verdict at this stage. */
  since: Date;
  /** When it was last evaluated. */
  evaluatedAt: Date;
}
