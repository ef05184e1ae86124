import type { QueueView } from '../data.js';
import { when } from '../format.js';
import { html, type Html } from '../html.js';

/** Queue: job counts, running jobs per host, each plugin's `/queue` block, the merge leases. */
export function queuePage(view: QueueView): Html {
  const { snapshot, leases } = view;
  const byHost = new Map<string, typeof snapshot.running>();
  for (const r of snapshot.running) {
    const key = r.hostId ?? 'unknown host';
    byHost.set(key, [...(byHost.get(key) ?? []), r]);
  }
  const counts = Object.entries(snapshot.counts);
  return html`<h1>Queue</h1>
<section aria-labelledby="counts-h"><h2 id="counts-h">Jobs</h2>
${counts.length ? html`<dl class="counts">${counts.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>` : html`<p class="muted">No job yet.</p>`}
</section>
<section aria-labelledby="running-h"><h2 id="running-h">Running</h2>
${byHost.size === 0 ? html`<p class="muted">Nothing runs.</p>` : [...byHost].map(([host, jobs]) => html`<h3>${host}</h3><div class="scroll"><table><thead><tr><th scope="col">Job</th><th scope="col">Task</th><th scope="col">Stage</th><th scope="col">Role</th><th scope="col">Since</th></tr></thead><tbody>
${jobs.map((j) => html`<tr><td>${j.jobId}</td><td><a href="/ui/tasks/${j.taskId}">task ${j.taskId}</a></td><td>${j.stage}</td><td>${j.role ?? '—'}</td><td>${when(j.startedAt)}</td></tr>`)}
</tbody></table></div>`)}
</section>
<section aria-labelledby="leases-h"><h2 id="leases-h">Merge leases</h2>
${leases.length === 0 ? html`<p class="muted">No repository is leased.</p>` : html`<ul>${leases.map((l) => html`<li>${l.repo}: held by <a href="/ui/tasks/${l.taskId}">task ${l.taskId}</a> until ${when(l.expiresAt)}</li>`)}</ul>`}
</section>
<section aria-labelledby="plugins-h"><h2 id="plugins-h">Plugins</h2>
${Object.keys(snapshot.plugins).length === 0 ? html`<p class="muted">No plugin reports a block.</p>` : Object.entries(snapshot.plugins).map(([name, block]) => pluginBlock(name, block))}
</section>`;
}

/** A plugin's block: its `line`s (serial-gate, task-deps) as a list, the rest as JSON. */
function pluginBlock(name: string, block: unknown): Html {
  const lines = collectLines(block);
  return html`<details class="plugin" open><summary>${name}</summary>
${lines.length ? html`<ul>${lines.map((l) => html`<li>${l}</li>`)}</ul>` : ''}
<pre>${JSON.stringify(block, null, 2)}</pre></details>`;
}

function collectLines(block: unknown, out: string[] = []): string[] {
  if (Array.isArray(block)) for (const b of block) collectLines(b, out);
  else if (block && typeof block === 'object') {
    for (const [k, v] of Object.entries(block)) {
      if (k === 'line' && typeof v === 'string') out.push(v);
      else collectLines(v, out);
    }
  }
  return out;
}
