/** Tokens private to this plugin. */
export const TrackerPlaneTokens = Object.freeze({
  /** The `PlaneTracker` itself (with `projectOf`, `project`), beyond the tracker port. */
  Tracker: Symbol.for('conveyor.tracker-plane.Tracker'),
  /** The `PlaneClient` (Plane's REST API with this instance's key and limits). */
  Client: Symbol.for('conveyor.tracker-plane.Client'),
});
