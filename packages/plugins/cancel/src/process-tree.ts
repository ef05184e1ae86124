import fs from 'node:fs';
import { pidAlive } from '@conveyor/core';

/**
 * The agent's whole process tree, found and stopped from `/proc` (Linux).
 *
 * A process-group kill does not reach a child that left the group
 * (`setsid sleep 1000 &`, a daemonizing test server): such a child still has the
 * agent as its parent while the agent lives, so the tree is collected by walking
 * `/proc/<pid>/task/<tid>/children` first, before anything is signalled (a
 * signalled parent dies and its children are re-parented out of reach).
 */

/** `pid` and every descendant alive now, parents before children; empty when `pid` is gone or not Linux. */
export function collectProcessTree(pid: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p) || !isAlive(p)) continue;
    seen.add(p);
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const kids: number[] = [];
  for (const tid of tids) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) {
        const n = Number(c);
        if (Number.isInteger(n) && n > 0) kids.push(n);
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return kids;
}

/** Alive and not a zombie (a zombie holds nothing and cannot be signalled away): core's check. */
export const isAlive = pidAlive;

/** True when `pid` leads its process group (the agent does: it is started detached). */
function isGroupLeader(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already, or not ours to signal
  }
}

/** What a kill did: the processes signalled, and those still alive after SIGKILL (should be none). */
export interface TreeKill {
  signalled: number[];
  survivors: number[];
}

/**
 * SIGTERM to every pid of `pids` (and to each one's process group, for members the
 * walk could not see), SIGKILL after `graceMs` to what is left. Waits on the
 * processes' state, polling `/proc`, never longer than the grace plus a second.
 */
export async function killProcesses(pids: readonly number[], options: { graceMs: number }): Promise<TreeKill> {
  const own = new Set([process.pid, process.ppid]);
  const targets = [...new Set(pids)].filter((p) => p > 1 && !own.has(p));
  const leaders = targets.filter(isGroupLeader);
  for (const p of targets) signal(p, 'SIGTERM');
  for (const p of leaders) signal(-p, 'SIGTERM');
  const deadline = Date.now() + options.graceMs;
  while (targets.some(isAlive) && Date.now() < deadline) await pause(25);
  for (const p of targets.filter(isAlive)) signal(p, 'SIGKILL');
  for (const p of leaders) signal(-p, 'SIGKILL');
  const killDeadline = Date.now() + 1_000;
  while (targets.some(isAlive) && Date.now() < killDeadline) await pause(25);
  return { signalled: targets, survivors: targets.filter(isAlive) };
}

/** Collects the tree of `pid`, then kills it: SIGTERM all, SIGKILL after the grace. */
export async function killProcessTree(pid: number, options: { graceMs: number }): Promise<TreeKill> {
  return killProcesses(collectProcessTree(pid), options);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
