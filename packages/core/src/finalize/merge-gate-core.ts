import type { EventBus } from '../events/event-bus.js';
import type { TaskStore } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';
import type { Clock } from '../tokens.js';
import { fail, pass, pending, type GateDefinition } from '../pipeline/gate.js';

/** How long an unfinished merge claim blocks a re-drive (longer than any forge merge call). */
export const MERGE_TAKEOVER_MS = 5 * 60_000;

/**
 * `pr_merged`, the last gate of `deploy → done`: the irreversible merge, claimed
 * by the INITIATED marker first. Already merged (a re-drive after a crash, or a
 * merge done by hand) short-circuits to pass. Never run in read-only evaluation.
 */
export function prMergedGate(d: { ports: Ports; tasks: TaskStore; events: EventBus; clock: Clock }): GateDefinition {
  return {
    name: 'pr_merged',
    description: "The task's pull request is merged into main (merging it if needed).",
    sideEffects: true,
    async check(ctx) {
      const task = ctx.task;
      if (task.mergedAt) return pass();
      const forge = d.ports.forge();
      if (!forge) return pending('no forge is bound to merge the pull request');
      if (task.prNumber === null) return fail('the task has no pull request to merge');
      const pr = await forge.getPullRequest(task.repo, task.prNumber);
      if (!pr) return fail(`pull request #${task.prNumber} not found on the forge`);
      if (!pr.merged) {
        // Claim the irreversible step: a concurrent advance (the deployer's finish and
        // a CI webhook) must not merge twice. An INITIATED marker older than the
        // takeover time means its writer died mid-merge: the re-drive merges again.
        if (!(await d.tasks.markMergeInitiated(task.id))) {
          const seen = (await d.tasks.get(task.id))?.mergeInitiatedAt;
          const stale = !!seen && d.clock.now() - seen.getTime() >= MERGE_TAKEOVER_MS;
          // The takeover is a compare-and-set too: two re-drives never both merge.
          if (!stale || !(await d.tasks.takeOverMerge(task.id, seen!))) return pending(`the merge of #${task.prNumber} is in progress elsewhere`);
        }
        try {
          // Pinned to the head read above: a push since then fails the merge instead of landing unseen.
          await forge.mergePullRequest(task.repo, task.prNumber, { headSha: pr.headSha });
        } catch (err) {
          // Nothing was merged: drop the claim, or the task's next visit would wait on it.
          await d.tasks.clearMergeInitiated(task.id);
          return fail(`merging #${task.prNumber} failed: ${(err as Error).message}`, (err as Error).message);
        }
      }
      if (await d.tasks.markMerged(task.id)) {
        d.events.emit('merge.completed', { taskId: task.id, repo: task.repo, sha: (await forge.getPullRequest(task.repo, task.prNumber))?.mergeSha ?? null });
      }
      return pass();
    },
  };
}
