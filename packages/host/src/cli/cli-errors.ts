/** Errors from the file system that a person fixes by pointing Conveyor elsewhere or changing permissions. */
const FS_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on the device',
};

/**
 * The one line the CLI prints for an error it did not expect: a file-system refusal
 * names the path and what was refused (never a stack), anything else its message.
 */
export function describeCliError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reason = e?.code ? FS_CODES[e.code] : undefined;
  if (reason && e.path) return `cannot ${e.syscall ?? 'write'} ${e.path}: ${reason}; check instance.dataDir (and the paths under it) or the permissions of that path`;
  return e instanceof Error ? e.message : String(err);
}
