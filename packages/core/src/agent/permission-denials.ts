import type { PermissionDenial } from '../domain.js';

/** `Write docs/pipeline/ET-7/01-analysis.md, Bash (npm test)` — at most `max` named, then a count. */
export function describeDenials(denials: readonly PermissionDenial[], max = 3): string {
  const named = denials.slice(0, max).map((d) => (d.target ? `${d.tool} ${d.target.length > 80 ? `${d.target.slice(0, 77)}…` : d.target}` : d.tool));
  const more = denials.length > max ? ` and ${denials.length - max} more` : '';
  return `${named.join(', ')}${more}`;
}
