import type { DeployStatusGuard, DeployStatusRequest, DeployStatusVerdict, Logger, Ports } from '@conveyor/core';
import { decide } from './decide.js';

/** How many recent decisions the `/queue` block shows. */
const RECENT = 20;

export interface Decision {
  at: string;
  taskId: number;
  workItem: string;
  caller: string;
  target: string;
  stage: string;
  windowActive: boolean;
  verdict: DeployStatusVerdict;
  reason: string;
}

/**
 * The guard bound as core's `DeployStatusGuard`: reads the window (post-deploy-monitor,
 * when enabled) only for a done task, decides with `decide`, and logs one structured
 * line per decision. Out of scope repos are allowed as asked (the kill-switch per repo).
 */
export class StatusGuard implements DeployStatusGuard {
  readonly counts: Record<DeployStatusVerdict, number> = { ALLOW: 0, CONVERGE_DONE: 0, SUPPRESS: 0 };
  readonly recent: Decision[] = [];

  constructor(
    private readonly d: {
      ports: Ports;
      logger: Logger;
      inScope(repo: string): boolean;
      now(): number;
    },
  ) {}

  async decide(request: DeployStatusRequest): Promise<DeployStatusVerdict> {
    const { task } = request;
    if (!this.d.inScope(task.repo)) return 'ALLOW';
    const window = this.d.ports.postDeployWindow();
    const windowActive = task.stage === 'done' && window ? await window.isActive(task.id) : false;
    const verdict = decide({ stage: task.stage, windowActive });
    const decision: Decision = {
      at: new Date(this.d.now()).toISOString(),
      taskId: task.id,
      workItem: task.workItemId,
      caller: request.caller,
      target: request.status,
      stage: task.stage,
      windowActive,
      verdict,
      reason: request.reason,
    };
    this.counts[verdict]++;
    this.recent.unshift(decision);
    this.recent.length = Math.min(this.recent.length, RECENT);
    const { at: _at, ...line } = decision;
    (verdict === 'ALLOW' ? this.d.logger.info : this.d.logger.warn).call(this.d.logger, line, 'deploy status decision');
    return verdict;
  }
}
