/**
 * Tombstones of a cancelled task's natural keys (tracker issue id, work item id,
 * branch). A cancelled task gives its keys up so a new "To Analyse" of the same
 * issue starts a fresh task with the same work item id and branch name; the
 * original stays recoverable from the suffix. `~` cannot appear in a git ref, so a
 * tombstoned branch never names a real branch.
 */
const MARK = '~cancelled-';

/** `ET-012` → `ET-012~cancelled-7` (7: the cancelled task's id, unique per key). */
export function tombstone(value: string, taskId: number): string {
  return parseTombstone(value) ? value : `${value}${MARK}${taskId}`;
}

/** The original key and the task id of a tombstoned value; null for a live key. */
export function parseTombstone(value: string): { original: string; taskId: number } | null {
  const at = value.lastIndexOf(MARK);
  if (at <= 0) return null;
  const id = Number(value.slice(at + MARK.length));
  if (!Number.isInteger(id) || id <= 0) return null;
  return { original: value.slice(0, at), taskId: id };
}

/** The key as it was before the task was cancelled (a live key is returned as is). */
export function untombstoned(value: string): string {
  return parseTombstone(value)?.original ?? value;
}
