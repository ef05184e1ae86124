import fs from 'node:fs';
import path from 'node:path';
import { loadExeca } from './load-execa.js';
import { TREE_TAG_ENV, forgetTreeTag, killProcessTree, newTreeTag, rememberTreeTag } from './process-tree.js';

export interface RunProcessOptions {
  command: string;
  args?: readonly string[];
  cwd: string;
  env?: Record<string, string>;
  /** Run through `/bin/sh -c` (a configured command line). */
  shell?: boolean;
  /** Kill the whole process group after this long. */
  timeoutMs: number;
  /** Aborting kills the whole process group. */
  signal?: AbortSignal;
  /** SIGTERM first, SIGKILL after this grace. */
  killGraceMs?: number;
  /** stdout and stderr are also appended here. */
  logPath?: string | null;
  /**
   * Host variables the child may see besides `SAFE_ENV` (names, or prefixes ending
   * in `*`, e.g. `ANTHROPIC_*`). Everything else of the host's environment —
   * tokens, webhook secrets, database URLs — stays with the host.
   */
  passEnv?: readonly string[];
  /** Text written to the process's stdin, then closed. */
  input?: string;
  onSpawn?: (pid: number) => void | Promise<void>;
}

export interface ProcessResult {
  pid: number | null;
  /** null when the process ended by a signal (or never started). */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Why the run was aborted (the abort signal's reason), when it was. */
  abortReason: string | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started at all. */
  spawnError: string | null;
}

/**
 * Runs a command in its own process group, so a timeout or an abort kills the
 * agent *and everything it spawned* (an agent's test runner, a dev server …),
 * not just the direct child. SIGTERM first, SIGKILL after a grace.
 */
export async function runProcess(opts: RunProcessOptions): Promise<ProcessResult> {
  let log: fs.WriteStream | null = null;
  if (opts.logPath) {
    fs.mkdirSync(path.dirname(opts.logPath), { recursive: true });
    log = fs.createWriteStream(opts.logPath, { flags: 'a' });
    // A log that cannot be written (disk full, a directory) loses the log, not the host.
    log.on('error', () => {
      log = null;
    });
  }
  // A caller that must find the tree again after this process is gone (a job's
  // agent: `jobTreeTag`) names the tag in the environment it passes.
  const tag = opts.env?.[TREE_TAG_ENV] || newTreeTag();
  const execa = await loadExeca();
  const child = execa(opts.command, [...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { ...childEnv(opts.passEnv ?? []), ...opts.env, [TREE_TAG_ENV]: tag },
    extendEnv: false,
    shell: opts.shell ? '/bin/sh' : false,
    detached: true,
    reject: false,
    stripFinalNewline: false,
    input: opts.input ?? '',
    buffer: { stdout: true, stderr: true },
    maxBuffer: 64 * 1024 * 1024,
  });
  const pid = child.pid ?? null;
  if (pid !== null) rememberTreeTag(pid, tag);
  child.stdout?.on('data', (d: Buffer) => log?.write(d));
  child.stderr?.on('data', (d: Buffer) => log?.write(d));

  let timedOut = false;
  let aborted = false;
  let killing: Promise<unknown> | null = null;
  // The whole tree, not just the group: a command the agent ran with `setsid`
  // (Claude Code's Bash tool does) is in neither its group nor, once its parent
  // exits, its tree of parents — only its tag still says whose it is.
  const killTree = (): void => {
    if (pid === null || killing) return;
    killing = killProcessTree(pid, { graceMs: opts.killGraceMs ?? 2_000 }).catch(() => undefined);
  };
  // When the agent itself exits, whatever it left running (a dev server, a
  // watcher) goes too: it would hold the worktree, ports and stdout.
  child.once('exit', () => {
    if (!timedOut && !aborted) killTree();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, opts.timeoutMs);
  timer.unref();
  const onAbort = (): void => {
    aborted = true;
    killTree();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    if (pid !== null) {
      try {
        await opts.onSpawn?.(pid);
      } catch (err) {
        // Nobody will know this pid: do not leave the group running unowned.
        killTree();
        await child;
        await killing;
        throw err;
      }
    }
    const res = await child;
    // The direct child is gone; anything it left behind goes with it before we return.
    killTree();
    await killing;
    const ending = endingLine({ timedOut, aborted, signal: res.signal ?? null, timeoutMs: opts.timeoutMs, graceMs: opts.killGraceMs ?? 2_000, reason: aborted ? abortReason(opts.signal) : null });
    if (ending) log?.write(`\n# ${new Date().toISOString()} ${ending}\n`);
    const spawnError = pid === null || (res.failed && res.exitCode === undefined && !res.signal && !timedOut && !aborted) ? (res.shortMessage ?? 'failed to start') : null;
    return {
      pid,
      exitCode: typeof res.exitCode === 'number' ? res.exitCode : null,
      signal: res.signal ?? null,
      timedOut,
      aborted,
      abortReason: aborted ? abortReason(opts.signal) : null,
      stdout: String(res.stdout ?? ''),
      stderr: String(res.stderr ?? ''),
      spawnError,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
    if (pid !== null) forgetTreeTag(pid);
  }
}

/** The abort signal's reason in words: an Error's message, a string, or `aborted`. */
export function abortReason(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  if (typeof r === 'string' && r) return r;
  return 'aborted';
}

/**
 * The log's last line for a run that did not end by itself, so whoever opens the
 * log of a killed agent reads that it was killed and why, instead of output that
 * simply stops.
 */
function endingLine(e: { timedOut: boolean; aborted: boolean; signal: string | null; timeoutMs: number; graceMs: number; reason: string | null }): string | null {
  const how = `its process group got SIGTERM, then SIGKILL after ${e.graceMs} ms`;
  if (e.timedOut) return `killed by Conveyor: timed out after ${e.timeoutMs} ms; ${how}`;
  if (e.aborted) return `killed by Conveyor: ${e.reason ?? 'aborted'}; ${how}`;
  if (e.signal) return `ended by ${e.signal}, not sent by Conveyor (out of memory, or killed from outside)`;
  return null;
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** What every child process inherits from the host: enough to run tools, no secrets. */
export const SAFE_ENV: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_*', 'TERM', 'TZ', 'TMPDIR', 'TMP', 'TEMP',
  'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
];

/** The host variables a child gets: `SAFE_ENV` plus `extra` (names or `PREFIX*`). */
export function childEnv(extra: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const patterns = [...SAFE_ENV, ...extra];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (patterns.some((p) => (p.endsWith('*') ? k.startsWith(p.slice(0, -1)) : k === p))) out[k] = v;
  }
  return out;
}

/** `signalGroup` for timers and cleanup paths, where a throw would be uncaught. */
function signalGroupQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    signalGroup(pid, signal);
  } catch {
    // EPERM: not ours to signal any more
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * When a process started, in epoch ms, from `/proc` (Linux); null elsewhere or
 * when it is gone. Lets recovery tell an agent from a later process that reused its pid.
 */
export function processStartedAt(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return null;
    return btime * 1000 + (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
  } catch {
    return null;
  }
}

/**
 * True when a process with this pid runs on this host. A zombie (exited, not yet
 * reaped — common where PID 1 does not reap orphans) counts as dead.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) is all we know
  }
}
