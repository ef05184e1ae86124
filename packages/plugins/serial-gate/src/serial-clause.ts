import { toError, type ClaimClause, type Task, type TaskStore, type WaitReason } from '@conveyor/core';
import type { FreezeStore } from './freeze-store.js';

export interface SerialClauseDeps {
  /** The repos in scope; empty = every repo. */
  repos: readonly string[];
  freezes: FreezeStore;
  tasks: TaskStore;
  /** The earliest live task of a repo with an id below `id`, or null. */
  earlierLive(repo: string, id: number): Promise<Task | null>;
}

/**
 * The serial-gate claim clause: a job of task T is claimable only if no task of
 * T's repo with a lower id is still live, and the repo is not frozen.
 *
 * Ordering is by id (`e.id < T.id`), never "any other live task": with "other",
 * ten tasks created together would each wait for the nine others and none would
 * ever run. The earlier-task lookup walks the partial index `tasks_repo_live
 * (repo, id) WHERE stage NOT IN ('done', 'cancelled')` (the predicate is written
 * the same way so both databases use it); the freeze is a primary-key probe.
 *
 * The freeze is read inside the claim statement: when it cannot be read, the
 * statement fails and nothing is claimed (closed). Building the clause fails open
 * (core leaves a clause that throws out of that claim).
 */
export function serialClause(d: SerialClauseDeps): ClaimClause {
  return {
    name: 'serial-gate',
    build({ task }) {
      const gate =
        `NOT EXISTS (SELECT 1 FROM tasks e WHERE e.repo = ${task}.repo AND e.id < ${task}.id AND e.stage NOT IN ('done', 'cancelled')) ` +
        `AND NOT EXISTS (SELECT 1 FROM serial_gate_freezes f WHERE f.repo = ${task}.repo)`;
      if (d.repos.length === 0) return { sql: gate, bindings: [] };
      return { sql: `${task}.repo NOT IN (${d.repos.map(() => '?').join(', ')}) OR (${gate})`, bindings: [...d.repos] };
    },
    async explain({ task }) {
      if (d.repos.length > 0 && !d.repos.includes(task.repo)) return null;
      return (await frozenReason(d, task)) ?? (await queuedBehind(d, task));
    },
  };
}

async function frozenReason(d: SerialClauseDeps, task: Task): Promise<WaitReason | null> {
  let freeze;
  try {
    freeze = await d.freezes.get(task.repo);
  } catch (err) {
    // Closed, like the claim: an unreadable freeze holds the task back.
    return { kind: 'repo_frozen', source: 'serial-gate', text: `The freeze state of ${task.repo} cannot be read (${toError(err).message}); serial-gate holds its tasks until it can.`, data: { repo: task.repo, readable: false } };
  }
  if (!freeze) return null;
  const cause = freeze.taskId ? ` after task ${freeze.taskId}` : '';
  return {
    kind: 'repo_frozen',
    source: 'serial-gate',
    text:
      `${task.repo} is frozen since ${freeze.frozenAt.toISOString()} by ${freeze.event}${cause}${freeze.reason ? ` (${freeze.reason})` : ''}; ` +
      `lift it with \`conveyor serial-gate unfreeze ${task.repo}\` or POST /serial-gate/unfreeze {"repo": "${task.repo}"}.`,
    data: { repo: task.repo, frozenAt: freeze.frozenAt.toISOString(), event: freeze.event, reason: freeze.reason, taskId: freeze.taskId, unfreeze: `conveyor serial-gate unfreeze ${task.repo}` },
  };
}

async function queuedBehind(d: SerialClauseDeps, task: Task): Promise<WaitReason | null> {
  const earlier = await d.earlierLive(task.repo, task.id);
  if (!earlier) return null;
  return {
    kind: 'queued_behind',
    source: 'serial-gate',
    text: `Queued behind task ${earlier.id} (${earlier.workItemId}, at ${earlier.stage}${earlier.blockedReason ? ', blocked' : ''}): serial-gate runs one task at a time in ${task.repo}, in id order.`,
    data: { repo: task.repo, taskId: earlier.id, workItemId: earlier.workItemId, stage: earlier.stage, blocked: earlier.blockedReason !== null },
  };
}
