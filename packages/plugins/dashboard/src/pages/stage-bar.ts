import type { Pipeline } from '@conveyor/core';
import { html, type Html } from '../html.js';

/** The task's stage as a progress bar over the pipeline, with its name in words. */
export function stageBar(pipeline: Pipeline, stage: string): Html {
  const names = pipeline.stages.map((s) => s.name);
  const total = names.length - 1;
  const at = stage === 'cancelled' ? -1 : names.indexOf(stage);
  const label = at < 0 ? stage : `${stage} (${Math.min(at + 1, total)} of ${total})`;
  return html`<span class="stage"><progress max="${total}" value="${Math.max(at, 0)}" aria-label="stage ${label}"></progress><span class="stage-name">${label}</span></span>`;
}
