import type { CostView } from '../data.js';
import { duration, quantile, usd } from '../format.js';
import { html, type Html } from '../html.js';
import { barChart, type Bar } from './charts.js';

function sumBy(runs: CostView['runs'], key: (r: CostView['runs'][number]) => string): Bar[] {
  const totals = new Map<string, number>();
  for (const r of runs) totals.set(key(r), (totals.get(key(r)) ?? 0) + (r.usage?.costUsd ?? 0));
  return [...totals].map(([label, value]) => ({ label, value, text: usd(value) }));
}

/** Cost: spend per day, repository and role, and how long each stage takes (p50 and p95). */
export function costPage(view: CostView, stageOrder: readonly string[], days: number, now: Date): Html {
  const since = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const perDay = sumBy(view.runs.filter((r) => r.startedAt.toISOString().slice(0, 10) >= since), (r) => r.startedAt.toISOString().slice(0, 10)).sort((a, b) => a.label.localeCompare(b.label));
  const perRepo = sumBy(view.runs, (r) => r.repo).sort((a, b) => b.value - a.value);
  const perRole = sumBy(view.runs, (r) => r.role).sort((a, b) => b.value - a.value);
  const stages = [...view.stageDurations.keys()].sort((a, b) => stageOrder.indexOf(a) - stageOrder.indexOf(b));
  const p50: Bar[] = stages.map((s) => ({ label: s, value: quantile(view.stageDurations.get(s)!, 0.5)!, text: duration(quantile(view.stageDurations.get(s)!, 0.5)) }));
  const p95: Bar[] = stages.map((s) => ({ label: s, value: quantile(view.stageDurations.get(s)!, 0.95)!, text: duration(quantile(view.stageDurations.get(s)!, 0.95)) }));
  const total = view.runs.reduce((n, r) => n + (r.usage?.costUsd ?? 0), 0);
  return html`<h1>Cost</h1>
<p>${usd(total)} over ${view.runs.length} agent run${view.runs.length === 1 ? '' : 's'} of the newest ${view.tasks} task${view.tasks === 1 ? '' : 's'}.</p>
<div class="charts">
${barChart(`Spend per day (last ${days} days)`, 'day', perDay)}
${barChart('Spend per repository', 'repository', perRepo)}
${barChart('Spend per role', 'role', perRole)}
${barChart('Time in each stage, p50', 'stage', p50)}
${barChart('Time in each stage, p95', 'stage', p95)}
</div>`;
}
