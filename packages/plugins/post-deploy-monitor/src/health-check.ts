import { runProcess, toError } from '@conveyor/core';
import type { HealthCheck } from './config.js';

export interface CheckResult {
  healthy: boolean;
  /** One line: `HTTP 503`, `exit 1: <output tail>`, `timed out after 10000 ms` … */
  detail: string;
}

export interface CheckOptions {
  timeoutMs: number;
  /** Where a command runs: the config file's directory. */
  cwd: string;
  passEnv: readonly string[];
  signal: AbortSignal;
  /** Injected so tests and embedders choose the HTTP client. */
  fetch: typeof fetch;
}

const TAIL = 300;

/** Runs one health check. Never throws: anything that is not healthy is a failure with its reason. */
export async function runHealthCheck(check: HealthCheck, o: CheckOptions): Promise<CheckResult> {
  if (check.url) return checkUrl(check.url, o);
  if (check.command) return checkCommand(check.command, o);
  return { healthy: false, detail: 'no url or command configured' };
}

async function checkUrl(url: string, o: CheckOptions): Promise<CheckResult> {
  try {
    const res = await o.fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) });
    await res.body?.cancel().catch(() => undefined);
    return { healthy: res.status >= 200 && res.status < 300, detail: `HTTP ${res.status}` };
  } catch (err) {
    const e = toError(err);
    return { healthy: false, detail: e.name === 'TimeoutError' ? `timed out after ${o.timeoutMs} ms` : `request failed: ${e.message}` };
  }
}

async function checkCommand(command: string, o: CheckOptions): Promise<CheckResult> {
  const res = await runProcess({ command, shell: true, cwd: o.cwd, timeoutMs: o.timeoutMs, signal: o.signal, passEnv: o.passEnv });
  if (res.spawnError) return { healthy: false, detail: `could not start: ${res.spawnError}` };
  if (res.timedOut) return { healthy: false, detail: `timed out after ${o.timeoutMs} ms` };
  if (res.exitCode === 0) return { healthy: true, detail: 'exit 0' };
  const out = `${res.stdout}\n${res.stderr}`.trim();
  return { healthy: false, detail: `${res.exitCode === null ? `killed by ${res.signal ?? 'a signal'}` : `exit ${res.exitCode}`}${out ? `: ${out.slice(-TAIL)}` : ''}` };
}
