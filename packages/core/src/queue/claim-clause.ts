import type { Dialect } from '../persistence/database.js';
import type { WaitReason, WaitView } from '../waiting/wait-reason.js';

/** A piece of SQL with positional `?` bindings, ANDed into the claim statement. */
export interface SqlFragment {
  sql: string;
  bindings: readonly unknown[];
}

export interface ClaimClauseContext {
  dialect: Dialect;
  /** Alias of the `jobs` row being considered (`j`). */
  job: string;
  /** Alias of its task (`t`). */
  task: string;
  now: Date;
}

/**
 * A plugin's extra condition on which queued job may be claimed (serial-gate,
 * task-deps). It is a query fragment evaluated inside the claim statement, so a
 * held-back job is never claimed and never takes a concurrency slot.
 *
 * Building fails open: a clause whose `build` throws is left out of that claim
 * (logged), because a broken filter must not stop the whole queue.
 */
export interface ClaimClause {
  readonly name: string;
  /** null = no condition for this claim (e.g. no repo in scope). */
  build(ctx: ClaimClauseContext): SqlFragment | null;
  /**
   * Why this clause holds the task's queued job back, in plain words, from stored
   * state only (no git, no forge); null when it does not. The same condition as
   * `build`, read for one task: `GET /tasks/:id`, `/queue` and the reconciler ask it.
   */
  explain?(view: WaitView): Promise<WaitReason | null>;
}
