/** How Conveyor names a tracker issue. */
export interface TrackerRef {
  repo: string;
  trackerIssueId: string;
}

/** An issue as the tracker reports it (reconciler polling, intake). */
export interface TrackerIssue {
  id: string;
  title: string;
  description: string;
  status: string;
  /** The tracker's own sequence number, when it has one (derives the work item id). */
  sequence: number | null;
  updatedAt: string | null;
}

/** Options of `TrackerPort.addComment`. */
export interface CommentOptions {
  idempotencyKey?: string;
}

/**
 * The tracker port (Plane, the local tracker …). Status names are Conveyor's
 * configured names; the implementation maps them to the tracker's own.
 */
export interface TrackerPort {
  readonly name: string;
  setStatus(ref: TrackerRef, status: string, options: { reason: string }): Promise<void>;
  /**
   * Posts a comment. With `idempotencyKey` (one per task, stage, attempt and effect),
   * a tracker that can remember it posts a second call with the same key only once:
   * a crash between the post and Conveyor's record of it must not show people the
   * same comment twice.
   */
  addComment(ref: TrackerRef, body: string, options?: CommentOptions): Promise<void>;
  /** Issues currently in one of `statuses` (for the reconciler); may page internally. */
  listIssuesInStatus?(repo: string, statuses: readonly string[]): AsyncIterable<TrackerIssue>;
  /**
   * The issues this one is "blocked by" in the tracker (Plane issue relations), as
   * tracker issue ids. Read by task-deps on intake, never on the claim path.
   */
  blockedBy?(ref: TrackerRef): Promise<string[]>;
}
