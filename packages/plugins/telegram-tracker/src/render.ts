import { formatTokens, formatUsd, fullInput, type AgentRun, type BudgetStatus, type Pipeline, type Task } from '@conveyor/core';

/** Telegram's limit for one message's text. */
export const MAX_TEXT = 4096;

export interface RenderInput {
  task: Task;
  runs: readonly AgentRun[];
  pipeline: Pipeline;
  budget: BudgetStatus | null;
  /** When the task entered `done` (its last transition), for the wall time. */
  finishedAt: Date | null;
  now: Date;
  /** Where the task's artefacts can be read (the forge's URL of its pipeline folder), when known. */
  artefactsUrl?: string | null;
}

/** `3725 s` → `1h 2m`, `65 s` → `1m 5s`, `9 s` → `9s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const runMs = (r: AgentRun): number => (r.finishedAt ? Math.max(0, r.finishedAt.getTime() - r.startedAt.getTime()) : 0);

/**
 * The live message of one task, rendered from the task and its runs alone (no
 * state kept between renders, so any host renders the same text): a header, one
 * line per stage that ran (tokens in/out, cost, model), the human review time,
 * totals and budget, and a finish block once done. Never longer than 4096
 * characters: stage lines are dropped from the middle first.
 */
export function renderTracker(i: RenderInput): string {
  const t = i.task;
  const head = [`${t.workItemId} ${t.title}`, `Stage: ${t.stage}${t.blockedReason ? ` · BLOCKED: ${t.blockedReason}` : ''}`];
  const stageLines: string[] = [];
  for (const stage of i.pipeline.stages) {
    const runs = i.runs.filter((r) => r.stage === stage.name);
    if (!runs.length) continue;
    const withUsage = runs.filter((r) => r.usage);
    const input = withUsage.reduce((n, r) => n + fullInput(r.usage!), 0);
    const output = withUsage.reduce((n, r) => n + r.usage!.outputTokens, 0);
    const cost = withUsage.reduce((n, r) => n + r.usage!.costUsd, 0);
    const models = [...new Set(withUsage.map((r) => r.usage!.model).filter(Boolean))];
    const failed = runs.filter((r) => r.exitCode !== 0 && r.finishedAt).length;
    stageLines.push(
      `${stage.name}${runs.length > 1 ? ` ×${runs.length}` : ''} · ${formatTokens(input)} in / ${formatTokens(output)} out · ${formatUsd(cost)}${models.length ? ` · ${models.join(', ')}` : ''}${failed ? ` · ${failed} failed` : ''}`,
    );
  }
  const tail: string[] = [];
  if (t.humanReviewStartedAt) {
    const end = t.humanReviewEndedAt ?? i.now;
    tail.push(`Human review: ${formatDuration(end.getTime() - t.humanReviewStartedAt.getTime())}${t.humanReviewEndedAt ? '' : ' (waiting)'}`);
  }
  const all = i.runs.filter((r) => r.usage);
  const totalCost = all.reduce((n, r) => n + r.usage!.costUsd, 0);
  tail.push(`Total: ${formatTokens(all.reduce((n, r) => n + fullInput(r.usage!), 0))} in / ${formatTokens(all.reduce((n, r) => n + r.usage!.outputTokens, 0))} out · ${formatUsd(totalCost)}`);
  if (i.budget?.task.limitUsd != null) tail.push(`Budget: ${formatUsd(i.budget.task.spentUsd)} of ${formatUsd(i.budget.task.limitUsd)} spent, ${formatUsd(i.budget.task.remainingUsd ?? 0)} left`);
  if (t.prUrl) tail.push(`PR: ${t.prUrl}`);
  if (t.stage === 'done') {
    const end = i.finishedAt ?? t.updatedAt;
    const human = t.humanReviewStartedAt && t.humanReviewEndedAt ? t.humanReviewEndedAt.getTime() - t.humanReviewStartedAt.getTime() : 0;
    tail.push(
      '',
      `✅ Done in ${formatDuration(end.getTime() - t.createdAt.getTime())} · agents ${formatDuration(i.runs.reduce((n, r) => n + runMs(r), 0))} · human ${formatDuration(human)}`,
      ...(t.prUrl ? [`Merged: ${t.prUrl}`] : []),
      ...(i.artefactsUrl ? [`Artefacts: ${i.artefactsUrl}`] : []),
    );
  }
  return fit(head, stageLines, tail);
}

function fit(head: string[], stages: string[], tail: string[]): string {
  const join = (s: string[]) => [...head, ...(s.length ? ['', ...s] : []), '', ...tail].join('\n');
  const kept = [...stages];
  let omitted = 0;
  let text = join(kept);
  // Drop stage lines after the first (the latest stay) until it fits, saying how many.
  while (text.length > MAX_TEXT && kept.length > 2) {
    kept.splice(1, 1);
    omitted++;
    text = join([kept[0]!, `… ${omitted} more`, ...kept.slice(1)]);
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
