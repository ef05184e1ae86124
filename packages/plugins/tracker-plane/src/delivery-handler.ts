import type { Intake, Logger } from '@conveyor/core';
import type { PlaneClient } from './plane-client.js';
import type { StatusNameMap } from './status-map.js';
import { parsePlaneWebhook, planeIntent } from './webhook-payload.js';
import { htmlToText } from './html.js';

/** The two intake commands a Plane delivery can become. */
export type PlaneIntake = Pick<Intake, 'trackerStatus' | 'trackerComment'>;

/** What the delivery processor needs: intake, the states list, and the route's filters. */
export interface PlaneDeliveryHandlerOptions {
  /** Resolved per delivery: intake is bound after plugins register. */
  intake: () => PlaneIntake;
  client: Pick<PlaneClient, 'stateById' | 'listComments'>;
  statusNames: StatusNameMap;
  repoOf(projectId: string): string | null;
  inScope(repo: string): boolean;
  botUserId: string | null;
  logger: Logger;
  /** Conveyor's name of the "Rejected" status: its delivery carries the person's latest comment. */
  rejectedStatus: string;
}

/**
 * Processes one recorded Plane delivery (after the HTTP reply, and again at start
 * for deliveries a crash left unprocessed). The filters of the route run again:
 * the configuration may have changed between recording and replay. A state sent
 * as a bare UUID is named through the project's states list. Throwing marks the
 * delivery failed in the inbox; the reconciler's polling is the backstop.
 */
export function planeDeliveryHandler(o: PlaneDeliveryHandlerOptions): (payload: string) => Promise<void> {
  return async (payload) => {
    const hook = parsePlaneWebhook(payload);
    const intent = planeIntent(hook);
    if (intent.kind === 'ignore') return;
    const repo = o.repoOf(intent.projectId);
    if (repo === null || !o.inScope(repo) || (o.botUserId !== null && hook.activity.actorId === o.botUserId)) {
      o.logger.info({ projectId: intent.projectId, repo }, 'recorded Plane delivery no longer applies (configuration changed); skipped');
      return;
    }
    if (intent.kind === 'comment') {
      await o.intake().trackerComment({ repo, trackerIssueId: intent.issueId });
      return;
    }
    let stateName = intent.state.name;
    if (stateName === null) {
      const state = intent.state.id ? await o.client.stateById(intent.projectId, intent.state.id) : null;
      if (!state) throw new Error(`Plane state ${intent.state.id} of work item ${intent.issueId} is not in project ${intent.projectId}'s states list`);
      stateName = state.name;
    }
    const status = o.statusNames.toConveyor(stateName);
    // A rejection's reason is the person's words: their latest comment on the item.
    // Read only to hand to the analyst; comments never drive the pipeline.
    const comment = status === o.rejectedStatus ? await latestHumanComment(o, intent.projectId, intent.issueId) : undefined;
    await o.intake().trackerStatus({
      repo,
      trackerIssueId: intent.issueId,
      status,
      ...(comment ? { comment } : {}),
      title: intent.title,
      description: intent.description,
      sequence: intent.sequence,
    });
  };
}

async function latestHumanComment(o: PlaneDeliveryHandlerOptions, projectId: string, issueId: string): Promise<string | undefined> {
  try {
    const comments = await o.client.listComments(projectId, issueId);
    const byTime = [...comments].sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''));
    const human = byTime.filter((c) => (c.actor ?? c.created_by) !== o.botUserId).at(-1);
    if (!human) return undefined;
    return (human.comment_stripped ?? htmlToText(human.comment_html ?? '')).trim() || undefined;
  } catch (err) {
    // Fail open: the analyst still runs again, without the person's words.
    o.logger.warn({ projectId, issueId, err }, 'could not read the rejection comment from Plane');
    return undefined;
  }
}
