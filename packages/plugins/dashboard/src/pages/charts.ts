import { html, type Html } from '../html.js';

export interface Bar {
  label: string;
  value: number;
  /** The value as people read it (`$1.20`, `4 min`). */
  text: string;
}

/**
 * A horizontal bar chart as inline SVG (no script, no external file), with a table
 * of the same numbers for screen readers and narrow screens.
 */
export function barChart(title: string, column: string, bars: readonly Bar[]): Html {
  if (bars.length === 0) return html`<figure class="chart"><figcaption>${title}</figcaption><p class="muted">Nothing yet.</p></figure>`;
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const rowH = 22;
  const height = bars.length * rowH;
  return html`<figure class="chart">
<figcaption>${title}</figcaption>
<svg viewBox="0 0 320 ${height}" width="100%" height="${height}" role="img" aria-label="${title}" preserveAspectRatio="none">
${bars.map((b, i) => html`<rect x="0" y="${i * rowH + 3}" height="${rowH - 8}" width="${Math.max(1, Math.round((b.value / max) * 200))}" class="bar"><title>${b.label}: ${b.text}</title></rect><text x="${Math.max(1, Math.round((b.value / max) * 200)) + 4}" y="${i * rowH + 15}" class="bar-text">${b.label} ${b.text}</text>`)}
</svg>
<table class="chart-table"><thead><tr><th scope="col">${column}</th><th scope="col">value</th></tr></thead>
<tbody>${bars.map((b) => html`<tr><td>${b.label}</td><td>${b.text}</td></tr>`)}</tbody></table>
</figure>`;
}
