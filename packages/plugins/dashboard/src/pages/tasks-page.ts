import type { Pipeline } from '@conveyor/core';
import type { TaskFilter, TaskRow } from '../data.js';
import { duration, usd } from '../format.js';
import { html, type Html } from '../html.js';
import { stageBar } from './stage-bar.js';

const STATES: { value: TaskFilter['state']; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'live', label: 'Live' },
  { value: 'blocked', label: 'Blocked' },
  { value: 'done', label: 'Done' },
];

/** The first reason's text: the whole sentence can run long in a table cell. */
function waitingText(row: TaskRow): string {
  if (row.waitingFor.kind === 'none') return row.task.stage === 'cancelled' ? 'cancelled' : 'nothing: done';
  return row.waitingFor.reasons[0]?.text ?? row.waitingFor.sentence;
}

function spend(row: TaskRow): Html {
  const limit = row.budget.task.limitUsd;
  const over = row.budget.exhausted !== null;
  return html`<span${over ? html` class="over"` : ''}>${usd(row.spentUsd)}${limit !== null ? ` of ${usd(limit)}` : ''}</span>`;
}

/** Tasks: one row per task, the filters as a plain GET form (it works without JavaScript). */
export function tasksPage(input: { rows: TaskRow[]; repos: string[]; filter: TaskFilter; pipeline: Pipeline; now: Date }): Html {
  const { filter } = input;
  return html`<h1>Tasks</h1>
<form class="filters" method="get" action="/ui" role="search">
  <fieldset><legend>Show</legend>${STATES.map((s) => html`<label><input type="radio" name="state" value="${s.value}"${filter.state === s.value ? html` checked` : ''}> ${s.label}</label>`)}</fieldset>
  <label>Repository <select name="repo"><option value="">all</option>${input.repos.map((r) => html`<option${filter.repo === r ? html` selected` : ''}>${r}</option>`)}</select></label>
  <label>Search <input type="search" name="q" value="${filter.q ?? ''}" placeholder="work item or title"></label>
  <button type="submit">Apply</button>
</form>
${input.rows.length === 0
    ? html`<p class="muted" id="no-tasks">No task matches. Create one with <code>npx conveyor task create -t "…"</code>.</p>`
    : html`<div class="scroll"><table class="tasks">
<caption class="visually-hidden">Tasks, newest first</caption>
<thead><tr><th scope="col">Work item</th><th scope="col">Title</th><th scope="col">Repo</th><th scope="col">Stage</th><th scope="col">Waiting for</th><th scope="col">Spend</th><th scope="col">Age</th></tr></thead>
<tbody>
${input.rows.map((r) => html`<tr data-task-id="${r.task.id}" data-stage="${r.task.stage}">
<td data-label="Work item"><a href="/ui/tasks/${r.task.id}">${r.task.workItemId}</a></td>
<td data-label="Title">${r.task.title}</td>
<td data-label="Repo">${r.task.repo}</td>
<td data-label="Stage">${stageBar(input.pipeline, r.task.stage)}</td>
<td data-label="Waiting for" class="waiting">${waitingText(r)}</td>
<td data-label="Spend">${spend(r)}</td>
<td data-label="Age">${duration(input.now.getTime() - r.task.createdAt.getTime())}</td>
</tr>`)}
</tbody></table></div>`}`;
}
