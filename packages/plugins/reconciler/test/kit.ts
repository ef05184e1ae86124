import { FakeForge, FakeTracker, createTestConveyor, type TestConveyor, type TestDialect } from '@conveyor/core/testing';
import type { CombinedStatus, TrackerIssue } from '@conveyor/core';
import { CoreTokens } from '@conveyor/core';
import { reconcilerPlugin } from '../src/index.js';

/** The artefacts' verdicts that pass every stage's gates. */
export function passingArtifacts(stage: string): Record<string, unknown> {
  const fm: Record<string, unknown> = {};
  if (stage === 'review') fm.review_status = 'approved';
  if (stage === 'testing') fm.tests_status = 'passed';
  if (stage === 'deploy-staging') fm.staging_status = 'ok';
  if (stage === 'deploy') fm.deploy_status = 'ok';
  return fm;
}

/** A forge whose CI statuses live on it (as Gitea's do), whatever reached Conveyor's webhooks. */
export class StatusForge extends FakeForge {
  readonly statuses = new Map<string, CombinedStatus['contexts']>();
  merges = 0;
  /** Thrown by the next `getPullRequest` calls while set (an unreachable forge). */
  failReads: (Error & { status?: number }) | null = null;

  override async combinedStatus(_repo: string, ref: string): Promise<CombinedStatus> {
    const contexts = this.statuses.get(ref) ?? [];
    return { state: contexts.every((c) => c.state === 'success') && contexts.length ? 'success' : contexts.length ? 'pending' : '', sha: ref, contexts };
  }

  override async getPullRequest(repo: string, number: number) {
    if (this.failReads) throw this.failReads;
    return super.getPullRequest(repo, number);
  }

  override async mergePullRequest(repo: string, number: number, options?: { headSha?: string | null }) {
    this.merges++;
    return super.mergePullRequest(repo, number, options);
  }
}

/** A tracker that can list issues by status, as Plane's and the local tracker do. */
export class ListingTracker extends FakeTracker {
  readonly issues: (TrackerIssue & { repo: string })[] = [];
  async *listIssuesInStatus(repo: string, statuses: readonly string[]): AsyncIterable<TrackerIssue> {
    for (const i of this.issues) if (i.repo === repo && statuses.includes(i.status)) yield i;
  }
}

export interface ReconcilerKit extends TestConveyor {
  statusForge: StatusForge;
  listingTracker: ListingTracker;
}

/**
 * A test instance with the reconciler (ticking every 30 ms, no grace unless told),
 * a forge that keeps CI statuses and a tracker that lists issues; the worker on,
 * every agent passing.
 */
export async function reconcilerKit(dialect: TestDialect, reconciler: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<ReconcilerKit> {
  const statusForge = new StatusForge();
  const listingTracker = new ListingTracker();
  const kit = await createTestConveyor({
    dialect,
    config: { repos: { 'acme/app': {} }, worker: { enabled: true }, plugins: { reconciler: { intervalMs: 30, graceMs: 0, ...reconciler } }, ...extra },
    plugins: [reconcilerPlugin as never],
    agent: (req) => ({ artifact: { frontMatter: passingArtifacts(req.stage) } }),
  });
  // The kit's forge and tracker, replaced by the ones that hold state of their own.
  kit.conveyor.container.register(CoreTokens.Forge, { useValue: statusForge });
  kit.conveyor.container.register(CoreTokens.Tracker, { useValue: listingTracker });
  kit.workspace.onPush = (task, sha) => statusForge.setHead(task.repo, task.branch, sha);
  return { ...kit, statusForge, listingTracker };
}
