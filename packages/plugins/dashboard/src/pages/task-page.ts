import { fullInput, type Pipeline } from '@conveyor/core';
import type { TaskAction } from '../actions.js';
import type { TaskDetail } from '../data.js';
import { duration, tokens, usd, when } from '../format.js';
import { html, type Html } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import { stageBar } from './stage-bar.js';

/** Who moved a task, read from the transition's recorded reason and direction. */
export function movedBy(pipeline: Pipeline, t: { from: string; to: string; reason: string }): 'person' | 'rollback' | 'gate' | 'agent' | 'conveyor' {
  const index = (s: string) => pipeline.stages.findIndex((d) => d.name === s);
  if (/\b(person|human|manual|approved by|rejected|stop(ped)? requested|cancel)/i.test(t.reason)) return 'person';
  if (index(t.to) >= 0 && index(t.to) < index(t.from)) return 'rollback';
  if (/\b(gate|CI|merged|deferred|lease|budget)\b/i.test(t.reason)) return 'gate';
  if (/\b(agent|succeeded|finished|exit)/i.test(t.reason)) return 'agent';
  return 'conveyor';
}

function timeline(d: TaskDetail, pipeline: Pipeline, now: Date): Html {
  let enteredAt = d.task.createdAt;
  const rows = d.transitions.map((t) => {
    const spent = t.at.getTime() - enteredAt.getTime();
    enteredAt = t.at;
    return html`<li><span class="when">${when(t.at)}</span> <strong>${t.from} → ${t.to}</strong> after ${duration(spent)} · <span class="who who-${movedBy(pipeline, t)}">${movedBy(pipeline, t)}</span>: ${t.reason}</li>`;
  });
  const current = (['done', 'cancelled'] as string[]).includes(d.task.stage) ? '' : html`<li><span class="when">now</span> <strong>${d.task.stage}</strong> for ${duration(now.getTime() - enteredAt.getTime())}</li>`;
  return html`<ol class="timeline"><li><span class="when">${when(d.task.createdAt)}</span> <strong>created</strong></li>${rows}${current}</ol>`;
}

function runs(d: TaskDetail): Html {
  if (d.runs.length === 0) return html`<p class="muted">No agent has run yet.</p>`;
  return html`<div class="scroll"><table class="runs"><thead><tr><th scope="col">Run</th><th scope="col">Stage</th><th scope="col">Role</th><th scope="col">Model</th><th scope="col">Tokens in / out</th><th scope="col">Cost</th><th scope="col">Exit</th><th scope="col">Duration</th><th scope="col">Denials</th><th scope="col">Log</th></tr></thead><tbody>
${d.runs.map((r) => html`<tr data-run-id="${r.id}">
<td>${r.id}</td><td>${r.stage}</td><td>${r.role}</td><td>${r.usage?.model ?? '—'}</td>
<td>${r.usage ? `${tokens(fullInput(r.usage))} / ${tokens(r.usage.outputTokens)}` : '—'}</td>
<td>${usd(r.usage?.costUsd)}</td>
<td>${r.exitCode === null ? (r.finishedAt ? 'killed' : 'running') : r.exitCode}</td>
<td>${duration((r.finishedAt ?? new Date()).getTime() - r.startedAt.getTime())}</td>
<td>${r.permissionDenials.length === 0 ? 'none' : html`<ul class="denials">${r.permissionDenials.map((p) => html`<li>${JSON.stringify(p)}</li>`)}</ul>`}</td>
<td><button type="button" class="link" data-log-url="/tasks/${d.task.id}/logs?stage=${encodeURIComponent(r.stage)}" data-run="${r.id}" aria-controls="log-${r.id}">Show log tail</button><pre id="log-${r.id}" class="log" hidden></pre></td>
</tr>`)}
</tbody></table></div>`;
}

function ciStatuses(d: TaskDetail): Html {
  if (d.ci.length === 0) return html`<p class="muted">No CI status reported for the task branch yet.</p>`;
  return html`<ul class="ci">${d.ci.map((c) => html`<li data-state="${c.state}"><strong>${c.state}</strong> ${c.context} on <code>${c.sha.slice(0, 10)}</code>, ${when(c.updatedAt)}${c.targetUrl && /^https?:\/\//i.test(c.targetUrl) ? html` · <a href="${c.targetUrl}" rel="noopener noreferrer">details</a>` : ''}</li>`)}</ul>`;
}

function actions(list: readonly TaskAction[]): Html {
  return html`<div class="actions">${list.map((a) => html`<form class="action" data-action="${a.id}" data-method="${a.method}" data-url="${a.url}">
${a.input === 'comment' ? html`<label>Comment <input name="comment" type="text" required${a.enabled ? '' : html` disabled`}></label>` : ''}
${a.input === 'usd' ? html`<label>Budget (USD) <input name="usd" type="number" min="0" step="0.01" required${a.enabled ? '' : html` disabled`}></label>` : ''}
<button type="submit"${a.enabled ? '' : html` disabled aria-describedby="why-${a.id}"`}>${a.label}</button>
${a.reason ? html`<span class="why" id="why-${a.id}">${a.reason}</span>` : ''}
</form>`)}</div>`;
}

/** Task: where it stands, what a person can do, its timeline, runs, costs and artefacts. */
export function taskPage(d: TaskDetail, list: readonly TaskAction[], pipeline: Pipeline, now: Date): Html {
  const t = d.task;
  const b = d.budget;
  return html`<h1><span class="work-item">${t.workItemId}</span> ${t.title}</h1>
<p>${t.repo} · ${stageBar(pipeline, t.stage)} · created ${when(t.createdAt)}${t.prUrl ? (/^https?:\/\//i.test(t.prUrl) ? html` · <a href="${t.prUrl}" rel="noopener noreferrer">pull request${t.prNumber ? ` #${t.prNumber}` : ''}</a>` : html` · <span title="${t.prUrl}">pull request${t.prNumber ? ` #${t.prNumber}` : ''}</span>`) : ''}${t.branch ? html` · branch <code>${t.branch}</code>` : ''}</p>
<section aria-labelledby="waiting-h"><h2 id="waiting-h">Waiting for</h2><p class="waiting" data-kind="${d.waitingFor.kind}">${d.waitingFor.sentence || 'nothing'}</p></section>
<section aria-labelledby="actions-h"><h2 id="actions-h">Actions</h2>${actions(list)}</section>
<section aria-labelledby="cost-h"><h2 id="cost-h">Cost</h2>
<p class="cost-total">Spent <strong>${usd(b.task.spentUsd)}</strong>${b.task.limitUsd !== null ? ` of the task's ${usd(b.task.limitUsd)}` : ' (no task budget)'}; at ${b.stage.name}: ${usd(b.stage.spentUsd)}${b.stage.limitUsd !== null ? ` of ${usd(b.stage.limitUsd)}` : ''}.${b.exhausted ? html` <strong class="over">The ${b.exhausted} budget is spent.</strong>` : ''}</p>
${d.costs.perRole.length ? html`<ul>${d.costs.perRole.map((r) => html`<li>${r.role}: ${usd(r.costUsd)} over ${r.runs} run${r.runs === 1 ? '' : 's'} (${tokens(r.fullInputTokens)} in / ${tokens(r.outputTokens)} out)</li>`)}</ul>` : ''}
</section>
<section aria-labelledby="ci-h"><h2 id="ci-h">CI</h2>${ciStatuses(d)}</section>
<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>${timeline(d, pipeline, now)}</section>
<section aria-labelledby="runs-h"><h2 id="runs-h">Agent runs</h2>${runs(d)}</section>
<section aria-labelledby="artefacts-h"><h2 id="artefacts-h">Artefacts</h2>
${d.artefacts.length === 0 ? html`<p class="muted">No artefact on the task branch yet.</p>` : d.artefacts.map((a) => html`<details class="artefact" data-stage="${a.stage}" open><summary>${a.stage} <code>${a.path}</code></summary><div class="md">${renderMarkdown(a.body)}</div></details>`)}
</section>`;
}
