import type { Intake, Logger } from '@conveyor/core';
import { isMerge } from './webhook-event.js';
import type { GiteaDeliveryPayload } from './webhook-route.js';

function read(payload: string): GiteaDeliveryPayload {
  const d = JSON.parse(payload) as Partial<GiteaDeliveryPayload> | null;
  if (!d || d.v !== 1 || typeof d.repo !== 'string' || !d.event || !['status', 'pull_request', 'push'].includes(d.event.kind)) {
    throw new Error(`unreadable gitea delivery (expected { v: 1, repo, event }): ${payload.slice(0, 120)}`);
  }
  return d as GiteaDeliveryPayload;
}

/**
 * Processes a recorded Gitea delivery, after the reply (and again at start when a
 * crash came between the two): a status goes to `intake.ciStatus` with no branch
 * (Gitea's status payload names none; core resolves the sha), a merge to
 * `intake.pullRequestMerged`, a push is only logged. A throw marks the delivery
 * failed in the inbox; the reconciler is the backstop.
 */
export function giteaDeliveryHandler(o: { intake: () => Intake; logger: Logger }): (payload: string) => Promise<void> {
  return async (payload) => {
    const { repo, delivery, event: e } = read(payload);
    switch (e.kind) {
      case 'status': {
        // Gitea's own time of the status orders late deliveries (an old "pending" after "success").
        const updatedAt = e.updatedAt && !Number.isNaN(Date.parse(e.updatedAt)) ? new Date(e.updatedAt) : undefined;
        await o.intake().ciStatus({ repo, sha: e.sha, branch: null, context: e.context, state: e.state, targetUrl: e.targetUrl, ...(updatedAt ? { updatedAt } : {}) });
        return;
      }
      case 'pull_request':
        // The route records merges only; the check keeps a hand-made row harmless.
        if (isMerge(e)) await o.intake().pullRequestMerged({ repo, branch: e.head, number: e.number });
        return;
      case 'push':
        o.logger.info({ repo, ref: e.ref, before: e.before, after: e.after, delivery }, 'gitea push (informational: CI statuses drive the pipeline)');
        return;
    }
  };
}
