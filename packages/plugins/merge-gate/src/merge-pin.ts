import type { MergePin, MergePinDecision, Task } from '@conveyor/core';
import { PremergeCheckout, originUrl, type PremergeRepo } from './premerge.js';
import type { RetestStore } from './retest-store.js';

/**
 * merge-gate's answer to "which head may merge": the sha its re-test passed on, or
 * a later head whose only changes are the task's own pipeline artefacts (the
 * deployer's report is committed after the re-test). Anything else since the test
 * (code pushed at deploy, a rewrite) refuses the merge: it was never tested.
 */
export function testedMergePin(d: { retests: RetestStore; inScope(repo: string): boolean; repo(name: string): PremergeRepo | null }): MergePin {
  return {
    async pin(task: Task, prHead: string): Promise<MergePinDecision> {
      if (!d.inScope(task.repo)) return { sha: prHead };
      const tested = await d.retests.testedSha(task.id);
      if (!tested) return { refuse: `no re-test of ${task.branch} passed: merge-gate has nothing it may merge` };
      if (tested === prHead) return { sha: tested };
      const repo = d.repo(task.repo);
      if (!repo) return { refuse: `repos.${task.repo}.url is not configured: the head cannot be compared with what was tested` };
      const co = await PremergeCheckout.create({ ...repo, url: originUrl(repo.url) }, task.branch);
      try {
        const changed = await co.changedSince(tested, prHead);
        if (!changed) return { refuse: `the head ${prHead.slice(0, 12)} does not descend from the tested ${tested.slice(0, 12)}` };
        const own = `docs/pipeline/${task.workItemId}/`;
        const untested = changed.filter((f) => !f.startsWith(own));
        if (untested.length) return { refuse: `${untested.length} file(s) changed after the re-test of ${tested.slice(0, 12)} (${untested.slice(0, 3).join(', ')}): not what was tested` };
        return { sha: prHead };
      } finally {
        co.dispose();
      }
    },
  };
}
