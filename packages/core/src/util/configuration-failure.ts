import type { ProcessResult } from './process-group.js';

// What CLIs print when they refuse their command line (commander, yargs, getopt, argparse).
const REFUSED_ARGS = /\b(unknown|unrecognized|unrecognised|invalid|unexpected) (option|argument|flag|command)\b|\berror: option\b|\btoo many arguments\b|\bmissing required argument\b/i;

/**
 * Why a run failed because of how it is configured — the command is missing or not
 * executable, or it refused its own flags — or null for any other failure. Such a
 * failure is not retried as if it were transient: every retry would fail the same
 * way (and a retry budget spent on it hides the cause behind "failed 4 times").
 */
export function configurationFailure(proc: Pick<ProcessResult, 'spawnError' | 'exitCode' | 'stderr' | 'stdout' | 'timedOut' | 'aborted'>): string | null {
  if (proc.timedOut || proc.aborted) return null;
  if (proc.spawnError && /ENOENT|EACCES|not found|permission denied/i.test(proc.spawnError)) return 'the command is missing or not executable';
  if (proc.exitCode === 127) return `the command was not found (exit 127)${detail(proc)}`;
  if (proc.exitCode === 126) return `the command is not executable (exit 126)${detail(proc)}`;
  if (proc.exitCode !== null && proc.exitCode !== 0 && REFUSED_ARGS.test(proc.stderr)) return `the command refused its arguments${detail(proc)}`;
  return null;
}

function detail(proc: Pick<ProcessResult, 'stderr'>): string {
  const t = proc.stderr.trim().split('\n').slice(-2).join(' ').slice(-200);
  return t ? `: ${t}` : '';
}
