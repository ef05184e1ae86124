import type { EventBus } from '../events/event-bus.js';
import type { TaskStore } from '../persistence/ports.js';
import type { Ports } from '../ports/ports.js';
import type { Clock } from '../tokens.js';
import { defer, fail, pass, pending, type GateDefinition } from '../pipeline/gate.js';
import { faultPoint } from '../util/fault-point.js';

/** How long an unfinished merge claim blocks a re-drive (longer than any forge merge call). */
export const MERGE_TAKEOVER_MS = 5 * 60_000;

/**
 * How soon the merge is tried again when the head moved between reading it and
 * merging (a forge that learns of a push a moment late: Gitea syncs a pull
 * request's head from a queue).
 */
export const HEAD_MOVED_RETRY_MS = 1_000;

/** Network failures whose request may have reached the forge before the connection broke. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * True when a failed merge call may still have merged: the forge never answered
 * (HTTP status 0, a timeout or abort, a broken connection) or answered with a 5xx.
 * A 4xx, or a local forge's error without a status, is a refusal: nothing merged.
 */
export function isAmbiguousMergeError(err: unknown): boolean {
  const e = (err ?? {}) as { status?: unknown; name?: unknown; code?: unknown; cause?: unknown };
  if (typeof e.status === 'number') return e.status === 0 || e.status >= 500;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return e.cause !== undefined && e.cause !== err && isAmbiguousMergeError(e.cause);
}

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
        // What merges is what was tested: a bound pin (merge-gate) names the tested
        // sha, or refuses when the head moved past it with more than artefacts.
        const pin = d.ports.mergePin();
        if (pin && !pr.headSha) return pending(`the forge reports no head for #${task.prNumber}: it cannot be checked against what was tested`);
        const decision = pin && pr.headSha ? await pin.pin(task, pr.headSha) : { sha: pr.headSha };
        if ('refuse' in decision) return fail(`#${task.prNumber} may not merge: ${decision.refuse}`);
        if (task.cancelRequestedAt) return pending(`a STOP was requested: the merge of #${task.prNumber} does not start`);
        // Claim the irreversible step: a concurrent advance (the deployer's finish and
        // a CI webhook) must not merge twice. An INITIATED marker older than the
        // takeover time means its writer died mid-merge: the re-drive merges again.
        if (!(await d.tasks.markMergeInitiated(task.id))) {
          const now = await d.tasks.get(task.id);
          if (now?.cancelRequestedAt && !now.mergeInitiatedAt) return pending(`a STOP was requested: the merge of #${task.prNumber} does not start`);
          const seen = now?.mergeInitiatedAt;
          const stale = !!seen && d.clock.now() - seen.getTime() >= MERGE_TAKEOVER_MS;
          // The takeover is a compare-and-set too: two re-drives never both merge.
          if (!stale || !(await d.tasks.takeOverMerge(task.id, seen!))) return pending(`the merge of #${task.prNumber} is in progress elsewhere`);
        }
        const claim = (await d.tasks.get(task.id))!.mergeInitiatedAt!;
        try {
          // Pinned to the decided head: a push since then fails the merge instead of landing unseen.
          await forge.mergePullRequest(task.repo, task.prNumber, { headSha: decision.sha });
          // Merged on the forge, not yet recorded: a restart asks the forge and completes.
          faultPoint('merge.after-forge-merge');
        } catch (err) {
          const message = (err as Error).message;
          if (isAmbiguousMergeError(err)) {
            // A timeout or a 5xx may hide a merge that landed: keep the claim and ask the
            // forge on the next visit (a rollback here once sent merged work back to development).
            return pending(`the merge of #${task.prNumber} may have landed (${message}); waiting until the forge can be asked`);
          }
          // The forge refused: nothing was merged. Drop our own claim (never a taker's),
          // or the task's next visit would wait on it.
          await d.tasks.clearMergeInitiated(task.id, claim);
          // Refused because the head moved after it was read (a push the forge learned
          // of late): the same edge is judged again on the new head, through the pin
          // when there is one; a rollback to development would redo every stage.
          const now = await forge.getPullRequest(task.repo, task.prNumber).catch(() => null);
          if (now && !now.merged && now.headSha && decision.sha && now.headSha !== decision.sha) {
            return defer(`the head of #${task.prNumber} moved while it was merged (${decision.sha.slice(0, 12)} → ${now.headSha.slice(0, 12)}); merging again on the new head`, HEAD_MOVED_RETRY_MS);
          }
          return fail(`merging #${task.prNumber} failed: ${message}`, message);
        }
      }
      if (await d.tasks.markMerged(task.id)) {
        d.events.emit('merge.completed', { taskId: task.id, repo: task.repo, sha: (await forge.getPullRequest(task.repo, task.prNumber))?.mergeSha ?? null });
      }
      return pass();
    },
  };
}
