import { randomUUID } from 'node:crypto';
import fs from 'node:fs';

/**
 * The environment variable every process started by `runProcess` carries, with a
 * value of its own. Whatever the agent starts inherits it — also a command its
 * tool ran with `setsid` (Claude Code's Bash tool does), which leaves the agent's
 * process group and, once its parent exits, its process tree too. The tag is what
 * still ties such a process to the run that must end it.
 */
export const TREE_TAG_ENV = 'CONVEYOR_PROCESS_TREE';

const tags = new Map<number, string>();

/** A fresh tag for a process about to be started (`runProcess` puts it in the child's environment). */
export function newTreeTag(): string {
  return randomUUID();
}

/** Remembers the tag of a started process, so its tree can be found after the process itself is gone. */
export function rememberTreeTag(pid: number, tag: string): void {
  tags.set(pid, tag);
}

export function forgetTreeTag(pid: number): void {
  tags.delete(pid);
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  zombie: boolean;
}

function readStat(pid: number): ProcInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), zombie: f[0] === 'Z' };
  } catch {
    return null;
  }
}

function listProcesses(): ProcInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const info = readStat(Number(n));
    if (info) out.push(info);
  }
  return out;
}

function tagOf(pid: number): string | null {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    const hit = env.split('\0').find((kv) => kv.startsWith(`${TREE_TAG_ENV}=`));
    return hit ? hit.slice(TREE_TAG_ENV.length + 1) : null;
  } catch {
    return null;
  }
}

/**
 * The tag of one attempt of a job's agent: the same whoever computes it (the host
 * that started the agent, or the host that recovers the job after the first one
 * died), so what the agent left running can be found when its own process — the
 * only place the random tag of `runProcess` could be read back from — is gone.
 */
export function jobTreeTag(job: { id: number; attempt: number; startedAt: Date | null }): string {
  return `conveyor-job-${job.id}-${job.attempt}-${job.startedAt?.getTime() ?? 0}`;
}

/**
 * Every live process that belongs to the run started as `pid`: its descendants by
 * parent, its process group, the sessions opened inside it, and any process that
 * carries its tag (a `setsid` child whose parent already exited). With `pid` null
 * (the run's own process is gone, or its pid now belongs to someone else), only the
 * tagged processes and what they started. Never this process nor one of its ancestors.
 */
export function processTree(pid: number | null, tag: string | null = pid === null ? null : (tags.get(pid) ?? tagOf(pid))): number[] {
  const all = listProcesses();
  const members = new Set<number>();
  const leader = pid === null ? undefined : all.find((p) => p.pid === pid);
  if (leader && !leader.zombie) members.add(leader.pid);
  // The run was started in a session of its own: whoever is still in it belongs to it.
  const groups = new Set<number>(pid === null ? [] : [pid]);
  const sessions = new Set<number>(pid === null ? [] : [pid]);
  const tagged = new Map<number, boolean>();
  const hasTag = (p: number): boolean => {
    if (tag === null) return false;
    let v = tagged.get(p);
    if (v === undefined) tagged.set(p, (v = tagOf(p) === tag));
    return v;
  };
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (members.has(p.pid) || p.zombie) continue;
      const inTree = members.has(p.ppid) || groups.has(p.pgid) || sessions.has(p.sid) || hasTag(p.pid);
      if (!inTree) continue;
      members.add(p.pid);
      // A member that leads its own group or session brings that group or session along.
      if (p.pgid === p.pid) groups.add(p.pid);
      if (p.sid === p.pid) sessions.add(p.pid);
      grew = true;
    }
  }
  // Never ourselves or what we run under (a tag inherited by mistake, pid reuse).
  for (let p: ProcInfo | undefined = all.find((x) => x.pid === process.pid); p; p = all.find((x) => x.pid === p!.ppid)) {
    members.delete(p.pid);
    if (p.ppid <= 1) break;
  }
  return [...members];
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // gone already, or not ours to signal
    }
  }
}

function alive(pids: readonly number[]): number[] {
  return pids.filter((p) => {
    const info = readStat(p);
    return info !== null && !info.zombie;
  });
}

/**
 * Ends a run and everything it started: SIGTERM to the whole tree (see
 * `processTree`), SIGKILL after `graceMs` to what is left and to anything it started
 * meanwhile. Resolves once nothing of the tree is alive (or after the SIGKILL when
 * `/proc` cannot tell). Returns the pids it signalled. A tree already gone is not
 * an error. `tag` names the run's tag when the caller knows it (`jobTreeTag`); with
 * `pid` null only the tagged processes are ended.
 */
export async function killProcessTree(pid: number | null, opts: { graceMs?: number; tag?: string | null } = {}): Promise<number[]> {
  const graceMs = opts.graceMs ?? 2_000;
  const tag = opts.tag ?? (pid === null ? null : (tags.get(pid) ?? tagOf(pid)));
  const first = processTree(pid, tag);
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid === null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // no such group
    }
  };
  // The group first, so a member that forks right now still gets it.
  signalGroup('SIGTERM');
  signalAll(first, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = alive(first);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = alive(first);
  }
  const second = [...new Set([...left, ...processTree(pid, tag)])];
  signalGroup('SIGKILL');
  signalAll(second, 'SIGKILL');
  const killDeadline = Date.now() + 2_000;
  while (alive(second).length && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 10));
  if (pid !== null) forgetTreeTag(pid);
  return [...new Set([...first, ...second])];
}
