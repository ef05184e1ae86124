/**
 * The slug convention of automatic lessons: `<kind>:<what>:<where>`, lower-case
 * parts joined by `:`. Readers group and deduplicate by slug, so these builders are
 * the only place slugs are made.
 */
export const LessonKinds = Object.freeze({
  GateFailure: 'gate_failure',
  MergeHold: 'merge_hold',
  RetryExhausted: 'retry_exhausted',
  DeployDegraded: 'deploy_degraded',
  Manual: 'manual',
});

export const LessonSlugs = Object.freeze({
  /** `gate_failure:<gate>:<stage>` — a gate failed and rolled the task back. */
  gateFailure: (gate: string, stage: string) => `${LessonKinds.GateFailure}:${gate}:${stage}`,
  /** `merge_hold:<repo>` — the merge was deferred: another task held the repo's merge lease. */
  mergeHold: (repo: string) => `${LessonKinds.MergeHold}:${repo}`,
  /** `retry_exhausted:<role>:<stage>` — a job spent its retry budget. */
  retryExhausted: (role: string, stage: string) => `${LessonKinds.RetryExhausted}:${role}:${stage}`,
  /** `deploy_degraded:<repo>` — health checks failed after a deploy. */
  deployDegraded: (repo: string) => `${LessonKinds.DeployDegraded}:${repo}`,
});
