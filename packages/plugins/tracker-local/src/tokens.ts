/** Tokens private to this plugin. */
export const TrackerLocalTokens = Object.freeze({
  /** The `LocalTracker` itself (with `createIssue`, `events`), beyond the tracker port. */
  Tracker: Symbol.for('conveyor.tracker-local.Tracker'),
});
