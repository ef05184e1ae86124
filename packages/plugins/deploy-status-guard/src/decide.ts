import type { DeployStatusVerdict } from '@conveyor/core';

/** What the guard looks at: the task's stage as stored, and whether its post-deploy window is open. */
export interface GuardFacts {
  stage: string;
  windowActive: boolean;
}

/**
 * Whether a deploy-phase status (Awaiting Deploy, Deploying, Monitoring after
 * Deploy) may be written for a task. A pure function, so every rule is tested alone.
 *
 * - not terminal → ALLOW (the deploy phases are the task's own);
 * - done with its post-deploy window open → ALLOW (the window's "Monitoring after Deploy");
 * - done otherwise → CONVERGE_DONE: write Done instead (idempotent). A done task once
 *   flapped between Awaiting Deploy and Monitoring after Deploy for ever, because
 *   stale and duplicate callers re-stamped an intermediate status over Done;
 * - cancelled → SUPPRESS: write nothing.
 */
export function decide(facts: GuardFacts): DeployStatusVerdict {
  if (facts.stage === 'cancelled') return 'SUPPRESS';
  if (facts.stage === 'done') return facts.windowActive ? 'ALLOW' : 'CONVERGE_DONE';
  return 'ALLOW';
}
