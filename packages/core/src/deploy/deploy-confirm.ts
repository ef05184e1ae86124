import type { ConveyorConfig } from '../config/resolve-config.js';
import type { ClaimClause } from '../queue/claim-clause.js';

/** True when a task of `repo` waits at deploy for a person's confirmation (`deploy.confirm`, per repo). */
export function deployConfirmRequired(config: Pick<ConveyorConfig, 'deploy' | 'repos'>, repo: string): boolean {
  return config.repos[repo]?.deploy?.confirm ?? config.deploy.confirm;
}

/** The sentence people read while a task waits for the confirmation. */
export function confirmDeployHint(taskId: number, status: string): string {
  return `move the tracker issue to "${status}", or run \`conveyor task confirm-deploy ${taskId}\` (POST /tasks/${taskId}/confirm-deploy)`;
}

/**
 * Core's claim clause for `deploy.confirm`: the deployer's job of a task at deploy
 * is not claimed until a person confirmed. A clause, not a gate: the wait happens
 * before the deployer runs, and the held job takes no concurrency slot.
 *
 * The repos that need the confirmation are fixed by the configuration, so the
 * fragment names them (or those that opted out) and reads `deploy_confirmed_at`
 * from the task row the claim already joins.
 */
export function deployConfirmClause(config: Pick<ConveyorConfig, 'deploy' | 'repos' | 'statuses'>): ClaimClause | null {
  const optIn = Object.entries(config.repos).filter(([, r]) => r.deploy?.confirm === true).map(([name]) => name);
  const optOut = Object.entries(config.repos).filter(([, r]) => r.deploy?.confirm === false).map(([name]) => name);
  if (!config.deploy.confirm && optIn.length === 0) return null;
  const list = (repos: string[]) => repos.map(() => '?').join(', ');
  return {
    name: 'deploy-confirm',
    build({ job, task }) {
      const held = `${task}.stage = 'deploy' AND ${job}.stage = 'deploy' AND ${job}.kind = 'agent' AND ${task}.deploy_confirmed_at IS NULL`;
      if (config.deploy.confirm) {
        if (optOut.length === 0) return { sql: `NOT (${held})`, bindings: [] };
        return { sql: `NOT (${held} AND ${task}.repo NOT IN (${list(optOut)}))`, bindings: [...optOut] };
      }
      return { sql: `NOT (${held} AND ${task}.repo IN (${list(optIn)}))`, bindings: [...optIn] };
    },
    async explain({ task, activeJob }) {
      if (task.stage !== 'deploy' || task.deployConfirmedAt || !deployConfirmRequired(config, task.repo)) return null;
      if (!activeJob || activeJob.stage !== 'deploy' || activeJob.kind !== 'agent' || activeJob.status !== 'queued') return null;
      return {
        kind: 'deploy_confirmation',
        source: 'core',
        text: `Waits for a person to confirm the deploy of ${task.workItemId}: ${confirmDeployHint(task.id, config.statuses.confirmDeploy)}.`,
        data: { status: config.statuses.confirmDeploy, command: `conveyor task confirm-deploy ${task.id}` },
      };
    },
  };
}
