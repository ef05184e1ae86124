import type { WaitExplainer } from '../waiting/wait-reason.js';
import { budgetStatus, type BudgetStatus } from './budget.js';

const usd = (n: number): string => `$${n.toFixed(2)}`;

// The budget that stopped the task: the spent one, else (a runner that stopped at the
// cap it was given, a few cents short) the one with less left.
function stoppingBudget(s: BudgetStatus): 'task' | 'stage' {
  if (s.exhausted) return s.exhausted;
  if (s.stage.remainingUsd === null) return 'task';
  if (s.task.remainingUsd === null) return 'stage';
  return s.stage.remainingUsd < s.task.remainingUsd ? 'stage' : 'task';
}

/**
 * Core's explanation of a budget stop (`blockedKind: 'budget'`): what was spent of
 * which budget, and the exact command that raises it and resumes the task. Reads the
 * task's agent runs, nothing else. Its `data.blockedKind` tells the waiting service
 * that it replaces the generic "blocked" line.
 */
export const budgetStopExplainer: WaitExplainer = {
  name: 'budget-stop',
  async explain({ task, stores, config }) {
    if (!task.blockedReason || task.blockedKind !== 'budget') return null;
    const status = budgetStatus(config.budgets, task, await stores.agentRuns.listForTask(task.id), task.stage);
    const which = stoppingBudget(status);
    const line = which === 'stage' ? status.stage : status.task;
    const what = which === 'stage' ? `"${task.stage}" stage budget` : 'task budget';
    const command = `conveyor task budget ${task.id} <usd>${which === 'stage' ? ` --stage ${task.stage}` : ''}`;
    const since = task.blockedAt?.toISOString() ?? 'an unknown time';
    const spent = line.limitUsd === null ? `${usd(line.spentUsd)} spent (no ${what} is set any more)` : `${usd(line.spentUsd)} spent of the ${usd(line.limitUsd)} ${what}`;
    return {
      kind: 'budget_stop',
      source: 'core',
      text: `Stopped by its budget at ${task.stage} since ${since}: ${spent}. To resume, raise it above ${usd(line.spentUsd)} with \`${command}\`.`,
      data: { blockedKind: 'budget', budget: which, stage: task.stage, spentUsd: line.spentUsd, limitUsd: line.limitUsd, command, since: task.blockedAt?.toISOString() ?? null },
    };
  },
};
