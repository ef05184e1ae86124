import type { AgentRun, TokenUsage } from '../domain.js';

/**
 * "Full input" = input + cache-read + cache-creation tokens: what the model read.
 * Reports show it with the cached part broken out, because the plain
 * `input_tokens` alone under-counts a cached session by orders of magnitude.
 */
export function fullInput(u: Pick<TokenUsage, 'inputTokens' | 'cacheReadTokens' | 'cacheCreationTokens'>): number {
  return u.inputTokens + u.cacheReadTokens + u.cacheCreationTokens;
}

/** `claude-sonnet-4-5-20250929` → `sonnet-4-5-20250929`; `anthropic/claude-opus-4` → `opus-4`. */
export function shortModelName(model: string | null | undefined): string | null {
  if (!model) return null;
  const last = model.split('/').pop() ?? model;
  return last.replace(/^claude-/, '') || null;
}

/** 45210 → `45.2k`, 1_250_000 → `1.3M`, 950 → `950`. */
export function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(1)}k`;
  return String(n);
}

export function formatUsd(n: number): string {
  return `$${n.toFixed(2)}`;
}

function titleCase(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/**
 * The finish comment line: `Developer done · 45.2k in / 12.1k out · $0.21`. `ok`
 * false says `failed`; a string says what happened instead (`finished without its artefact`).
 */
export function finishLine(role: string, usage: TokenUsage | null, ok: boolean | string = true): string {
  const head = `${titleCase(role)} ${typeof ok === 'string' ? ok : ok ? 'done' : 'failed'}`;
  if (!usage) return `${head} · usage unknown`;
  return `${head} · ${formatTokens(fullInput(usage))} in / ${formatTokens(usage.outputTokens)} out · ${formatUsd(usage.costUsd)}`;
}

export interface RoleCost {
  role: string;
  runs: number;
  inputTokens: number;
  cachedTokens: number;
  fullInputTokens: number;
  outputTokens: number;
  costUsd: number;
  models: string[];
}

export interface CostSummary {
  perRole: RoleCost[];
  total: Omit<RoleCost, 'role' | 'models'>;
  /** Runs whose usage could not be read (garbage output, crash). */
  unknownRuns: number;
}

/** Sums a task's agent runs per role, in first-seen order. */
export function summarizeCosts(runs: readonly AgentRun[]): CostSummary {
  const byRole = new Map<string, RoleCost>();
  let unknownRuns = 0;
  for (const r of runs) {
    let row = byRole.get(r.role);
    if (!row) byRole.set(r.role, (row = { role: r.role, runs: 0, inputTokens: 0, cachedTokens: 0, fullInputTokens: 0, outputTokens: 0, costUsd: 0, models: [] }));
    row.runs++;
    if (!r.usage) {
      unknownRuns++;
      continue;
    }
    row.inputTokens += r.usage.inputTokens;
    row.cachedTokens += r.usage.cacheReadTokens + r.usage.cacheCreationTokens;
    row.fullInputTokens += fullInput(r.usage);
    row.outputTokens += r.usage.outputTokens;
    row.costUsd += r.usage.costUsd;
    if (r.usage.model && !row.models.includes(r.usage.model)) row.models.push(r.usage.model);
  }
  const perRole = [...byRole.values()];
  const total = perRole.reduce(
    (t, r) => ({
      runs: t.runs + r.runs,
      inputTokens: t.inputTokens + r.inputTokens,
      cachedTokens: t.cachedTokens + r.cachedTokens,
      fullInputTokens: t.fullInputTokens + r.fullInputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      costUsd: t.costUsd + r.costUsd,
    }),
    { runs: 0, inputTokens: 0, cachedTokens: 0, fullInputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
  return { perRole, total, unknownRuns };
}

/** The per-task summary posted at done: one line per role and a total. */
export function formatCostSummary(workItemId: string, s: CostSummary): string {
  const lines = [`${workItemId} cost summary`];
  for (const r of s.perRole) {
    lines.push(
      `- ${titleCase(r.role)} ×${r.runs}: ${formatTokens(r.fullInputTokens)} in (${formatTokens(r.cachedTokens)} cached) / ${formatTokens(r.outputTokens)} out · ${formatUsd(r.costUsd)}${r.models.length ? ` · ${r.models.join(', ')}` : ''}`,
    );
  }
  lines.push(`Total: ${formatTokens(s.total.fullInputTokens)} in (${formatTokens(s.total.cachedTokens)} cached) / ${formatTokens(s.total.outputTokens)} out · ${formatUsd(s.total.costUsd)}`);
  if (s.unknownRuns) lines.push(`(${s.unknownRuns} run${s.unknownRuns > 1 ? 's' : ''} without readable usage)`);
  return lines.join('\n');
}
