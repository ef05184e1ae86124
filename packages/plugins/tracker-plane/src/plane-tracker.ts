import type { CommentOptions, TrackerIssue, TrackerPort, TrackerRef } from '@conveyor/core';
import type { PlaneProject } from './config.js';
import { PlaneApiError } from './errors.js';
import { htmlToText, textToHtml } from './html.js';
import type { PlaneClient, PlaneIssue, PlaneState } from './plane-client.js';
import type { StatusNameMap } from './status-map.js';

/** Plane's `external_source` of Conveyor's keyed comments. */
const COMMENT_SOURCE = 'conveyor';

/** What a `PlaneTracker` is built from. */
export interface PlaneTrackerOptions {
  client: PlaneClient;
  /** Plane project id → mapping (`plugins.tracker-plane.projects`). */
  projects: Readonly<Record<string, PlaneProject>>;
  statusNames: StatusNameMap;
}

/**
 * The tracker port on Plane. `TrackerRef.trackerIssueId` is the work item's UUID;
 * `ref.repo` names the project through `projects` (one project per repo). Status
 * names are Conveyor's; `StatusNameMap` turns them into Plane state names.
 */
export class PlaneTracker implements TrackerPort {
  readonly name = 'tracker-plane';
  readonly #client: PlaneClient;
  readonly #projects: Readonly<Record<string, PlaneProject>>;
  readonly #names: StatusNameMap;

  constructor(options: PlaneTrackerOptions) {
    this.#client = options.client;
    this.#projects = options.projects;
    this.#names = options.statusNames;
  }

  /** The Plane project that serves `repo`; `PLANE_UNKNOWN_REPO` when none does. */
  projectOf(repo: string): string {
    const hit = Object.entries(this.#projects).find(([, p]) => p.repo === repo);
    if (!hit) throw new PlaneApiError('PLANE_UNKNOWN_REPO', `no Plane project serves repo "${repo}": add one under plugins.tracker-plane.projects with repo: ${repo}`);
    return hit[0];
  }

  /** The mapping of a Plane project, or null when Conveyor does not serve it. */
  project(projectId: string): PlaneProject | null {
    return Object.hasOwn(this.#projects, projectId) ? this.#projects[projectId]! : null;
  }

  async setStatus(ref: TrackerRef, status: string, _options: { reason: string }): Promise<void> {
    await this.#client.setStateByName(this.projectOf(ref.repo), ref.trackerIssueId, this.#names.toPlane(status));
  }

  /**
   * With an idempotency key, the comment carries it as Plane's `external_id` (source
   * `conveyor`): a repeat after a crash answers 409, which means it is already there.
   */
  async addComment(ref: TrackerRef, body: string, options: CommentOptions = {}): Promise<void> {
    const external = options.idempotencyKey ? { id: options.idempotencyKey.slice(0, 255), source: COMMENT_SOURCE } : undefined;
    try {
      await this.#client.addComment(this.projectOf(ref.repo), ref.trackerIssueId, textToHtml(body), external);
    } catch (err) {
      if (external && err instanceof PlaneApiError && err.status === 409) return;
      throw err;
    }
  }

  /** The work items this one is "blocked by" in Plane (read by task-deps on intake). */
  async blockedBy(ref: TrackerRef): Promise<string[]> {
    const relations = await this.#client.relations(this.projectOf(ref.repo), ref.trackerIssueId);
    return Array.isArray(relations.blocked_by) ? relations.blocked_by.filter((id): id is string => typeof id === 'string') : [];
  }

  /** Work items of the repo's project in any of `statuses` (Conveyor names), for the reconciler; pages lazily. */
  async *listIssuesInStatus(repo: string, statuses: readonly string[]): AsyncIterable<TrackerIssue> {
    const projectId = this.projectOf(repo);
    const states = await this.#client.listStates(projectId);
    const wanted = new Set(statuses.map((s) => this.#names.toPlane(s).trim().toLowerCase()));
    const byId = new Map<string, PlaneState>(states.filter((s) => wanted.has(s.name.trim().toLowerCase())).map((s) => [s.id, s]));
    // No state of the project has one of these names: nothing can be in them.
    if (byId.size === 0) return;
    for await (const issue of this.#client.listIssues(projectId, { stateIds: [...byId.keys()] })) {
      const state = byId.get(stateIdOf(issue) ?? '');
      if (state) yield this.toTrackerIssue(issue, state);
    }
  }

  /** A Plane work item as the port reports it (status in Conveyor's words). */
  toTrackerIssue(issue: PlaneIssue, state: PlaneState): TrackerIssue {
    return {
      id: issue.id,
      title: issue.name,
      description: htmlToText(issue.description_html ?? ''),
      status: this.#names.toConveyor(state.name),
      sequence: typeof issue.sequence_id === 'number' ? issue.sequence_id : null,
      updatedAt: issue.updated_at ?? null,
    };
  }
}

function stateIdOf(issue: PlaneIssue): string | null {
  return typeof issue.state === 'string' ? issue.state : (issue.state?.id ?? null);
}
