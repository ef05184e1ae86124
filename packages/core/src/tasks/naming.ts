/** Work item id: prefix and a zero-padded number, `ET-007`. */
export function formatWorkItemId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(3, '0')}`;
}

/** Lowercase, dash-separated, ASCII only, at most `max` characters, never empty. */
export function slugify(title: string, max = 40): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return slug || 'task';
}

/** `et-007-fix-login`. */
export function branchName(workItemId: string, title: string): string {
  return `${workItemId.toLowerCase()}-${slugify(title)}`;
}

/**
 * The branch for a task when `base` is owned by another task of the repo: the work
 * item id and the tracker id make it unique (two tasks never share a worktree).
 */
export function disambiguatedBranch(base: string, workItemId: string, trackerIssueId: string): string {
  const tracker = trackerIssueId.toLowerCase().replace(/[^a-z0-9]+/g, '').slice(0, 12) || 'x';
  const wi = workItemId.toLowerCase();
  return base.includes(wi) ? `${base}-${tracker}` : `${base}-${wi}-${tracker}`;
}
