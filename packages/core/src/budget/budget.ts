import type { AgentRun, Task } from '../domain.js';
import type { BudgetsConfig } from '../config/core-schema.js';

/** One budget and what was spent against it. */
export interface BudgetLine {
  /** The budget in USD; null when there is none. */
  limitUsd: number | null;
  spentUsd: number;
  /** `limitUsd - spentUsd`, never below 0; null when there is no budget. */
  remainingUsd: number | null;
}

/** A task's budgets at one stage: the task's, the stage's, and the tighter of the two. */
export interface BudgetStatus {
  task: BudgetLine;
  stage: BudgetLine & { name: string };
  /** What the next agent run at `stage.name` may spend; null when neither budget is set. */
  remainingUsd: number | null;
  /** Which budget is spent (task first), or null while both have money left. */
  exhausted: 'task' | 'stage' | null;
}

// Spend is summed in micro-dollars: adding many run costs as floats drifts, and a
// budget of exactly what was spent must read as spent, not as $0.0000000001 left.
const MICRO = 1_000_000;
const micros = (usd: number): number => Math.round(usd * MICRO);

function line(limitUsd: number | null, spentMicros: number): BudgetLine {
  const spentUsd = spentMicros / MICRO;
  if (limitUsd === null) return { limitUsd: null, spentUsd, remainingUsd: null };
  return { limitUsd, spentUsd, remainingUsd: Math.max(0, micros(limitUsd) - spentMicros) / MICRO };
}

/** The task budget in force: the task's own, else the configured one. */
export function taskBudgetUsd(config: BudgetsConfig, task: Pick<Task, 'budgetUsd'>): number | null {
  return task.budgetUsd ?? config.taskUsd ?? null;
}

/** The stage budget in force: the task's own for that stage, else the configured one. */
export function stageBudgetUsd(config: BudgetsConfig, task: Pick<Task, 'stageBudgets'>, stage: string): number | null {
  return task.stageBudgets[stage] ?? config.stageUsd[stage] ?? null;
}

/**
 * A task's budgets at `stage`, from its agent runs (a run without readable usage
 * counts as $0: it is reported apart, see `summarizeCosts`).
 */
export function budgetStatus(config: BudgetsConfig, task: Pick<Task, 'budgetUsd' | 'stageBudgets'>, runs: readonly AgentRun[], stage: string): BudgetStatus {
  let all = 0;
  let atStage = 0;
  for (const r of runs) {
    const cost = micros(r.usage?.costUsd ?? 0);
    all += cost;
    if (r.stage === stage) atStage += cost;
  }
  const t = line(taskBudgetUsd(config, task), all);
  const s = { name: stage, ...line(stageBudgetUsd(config, task, stage), atStage) };
  const remaining = [t.remainingUsd, s.remainingUsd].filter((x): x is number => x !== null);
  const exhausted = t.remainingUsd === 0 ? 'task' : s.remainingUsd === 0 ? 'stage' : null;
  return { task: t, stage: s, remainingUsd: remaining.length ? Math.min(...remaining) : null, exhausted };
}

/** `$1.20 of the $1.00 task budget spent` — the sentence of a budget block. */
export function describeExhausted(status: BudgetStatus): string {
  const b = status.exhausted === 'stage' ? status.stage : status.task;
  const what = status.exhausted === 'stage' ? `"${status.stage.name}" stage budget` : 'task budget';
  return `budget: $${b.spentUsd.toFixed(2)} of the $${(b.limitUsd ?? 0).toFixed(2)} ${what} spent; raise it to resume`;
}
