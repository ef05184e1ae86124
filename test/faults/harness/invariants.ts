import { execFileSync } from 'node:child_process';
import type { FaultScenario } from './fault-scenario.js';
import { scenarioProcesses } from './scenario-processes.js';

/** What a scenario's end state must show beside the invariants that always hold. */
export interface InvariantOptions {
  /** Every task has reached `done`. */
  allDone?: boolean;
  /** The tracker issues that must each have exactly one task (by tracker issue id); default: every issue the tracker has. */
  issues?: readonly string[];
  /** Check that no process of the scenario is left (call after every host stopped). */
  noProcesses?: boolean;
}

interface TaskRow {
  id: number;
  tracker_issue_id: string;
  stage: string;
  branch: string;
  pr_number: number | null;
  blocked_reason: string | null;
}

const TERMINAL = new Set(['done', 'cancelled']);

/**
 * The invariants of the fault suite, read from the database, the origin and the
 * fakes. Returns one line per violation (empty: all hold), so a test asserts
 * `deepEqual(await checkInvariants(s), [])` and a failure lists every broken rule:
 *
 * - every issue (or acknowledged delivery's issue) maps to exactly one task;
 * - every task is terminal, or provably progressing (it has a live job), or
 *   blocked with a reason; with `allDone`, every task is `done`;
 * - no job with two live attempts, no agent run twice for one job attempt, no
 *   job `running` on a host that is down;
 * - no duplicate PR, branch or tracker comment;
 * - with `noProcesses`, no process of the scenario left behind.
 */
export async function checkInvariants(s: FaultScenario, o: InvariantOptions = {}): Promise<string[]> {
  const { knex } = await s.db();
  const out: string[] = [];
  const tasks = (await knex('tasks').select('id', 'tracker_issue_id', 'stage', 'branch', 'pr_number', 'blocked_reason').orderBy('id')) as TaskRow[];
  const jobs = (await knex('jobs').select('id', 'task_id', 'status', 'attempt', 'host_id', 'stage')) as { id: number; task_id: number; status: string; attempt: number; host_id: string | null; stage: string }[];

  // One issue → one task.
  const byIssue = new Map<string, number[]>();
  for (const t of tasks) byIssue.set(t.tracker_issue_id, [...(byIssue.get(t.tracker_issue_id) ?? []), t.id]);
  const issues = o.issues ?? (await trackerIssues(s));
  for (const issue of issues) {
    const ids = byIssue.get(issue) ?? [];
    if (ids.length !== 1) out.push(`issue ${issue} has ${ids.length} tasks (${ids.join(', ') || 'none'}), not one`);
  }
  for (const [issue, ids] of byIssue) if (!issues.includes(issue)) out.push(`tasks ${ids.join(', ')} belong to issue ${issue}, which the tracker does not know`);

  // Terminal or progressing.
  const live = new Map<number, typeof jobs>();
  for (const j of jobs.filter((x) => x.status === 'queued' || x.status === 'running')) live.set(j.task_id, [...(live.get(j.task_id) ?? []), j]);
  for (const t of tasks) {
    if (o.allDone && t.stage !== 'done') out.push(`task ${t.id} is at ${t.stage}${t.blocked_reason ? ` (blocked: ${t.blocked_reason})` : ''}, not done`);
    else if (!TERMINAL.has(t.stage) && !t.blocked_reason && !live.has(t.id) && !o.allDone) out.push(`task ${t.id} at ${t.stage} has no live job and is not blocked (stranded unless a reconciler moves it)`);
  }
  for (const [taskId, js] of live) if (js.length > 1) out.push(`task ${taskId} has ${js.length} live jobs (${js.map((j) => `#${j.id} ${j.status}`).join(', ')})`);
  const hostsUp = new Set([...s.hosts.values()].filter((h) => h.running).map((h) => h.hostId));
  for (const j of jobs) if (j.status === 'running' && (!j.host_id || !hostsUp.has(j.host_id)) && o.noProcesses) out.push(`job ${j.id} is running on host ${j.host_id}, which is down`);

  // One agent process per job attempt.
  const runs = (await knex('agent_runs').select('job_id', 'attempt').count({ n: '*' }).groupBy('job_id', 'attempt')) as { job_id: number; attempt: number; n: number | string }[];
  for (const r of runs) if (Number(r.n) > 1) out.push(`job ${r.job_id} attempt ${r.attempt} ran its agent ${r.n} times`);

  // Branches, PRs, comments.
  const branches = new Set(tasks.map((t) => t.branch));
  const heads = execFileSync('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads'], { cwd: s.origin.origin, encoding: 'utf8' }).split('\n').filter((b) => b && b !== 'main');
  for (const b of heads) if (!branches.has(b)) out.push(`branch ${b} on the origin belongs to no task (a duplicate?)`);
  out.push(...(await pullRequestViolations(s, tasks)));
  out.push(...(await commentViolations(s)));

  if (o.noProcesses) for (const p of scenarioProcesses(s.dir)) out.push(`process ${p.pid} left behind: ${p.cmdline}`);
  return out;
}

/** The tracker's issue ids: the local tracker's table, or the fake Plane's issues. */
async function trackerIssues(s: FaultScenario): Promise<string[]> {
  if (s.plane) return [...s.plane.issues.keys()];
  const { knex } = await s.db();
  return ((await knex('local_issues').select('id')) as { id: number }[]).map((r) => String(r.id));
}

async function pullRequestViolations(s: FaultScenario, tasks: TaskRow[]): Promise<string[]> {
  const out: string[] = [];
  const prsByHead = new Map<string, number>();
  if (s.gitea) {
    for (const repo of s.gitea.repos.values()) for (const p of repo.pulls) prsByHead.set(p.head, (prsByHead.get(p.head) ?? 0) + 1);
  } else {
    const { knex } = await s.db();
    for (const p of (await knex('forge_git_pull_requests').select('head')) as { head: string }[]) prsByHead.set(p.head, (prsByHead.get(p.head) ?? 0) + 1);
  }
  for (const [head, n] of prsByHead) if (n > 1) out.push(`${n} pull requests for branch ${head}`);
  for (const t of tasks) if (t.stage === 'done' && !prsByHead.has(t.branch)) out.push(`task ${t.id} is done without a pull request for ${t.branch}`);
  return out;
}

async function commentViolations(s: FaultScenario): Promise<string[]> {
  const seen = new Map<string, number>();
  if (s.plane) {
    for (const c of s.plane.comments) {
      const key = `${c.issue}\u0000${c.commentHtml}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  } else {
    const { knex } = await s.db();
    for (const e of (await knex('local_issue_events').where({ kind: 'comment' }).select('issue_id', 'body')) as { issue_id: number; body: string }[]) {
      const key = `${e.issue_id}\u0000${e.body}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => {
    const [issue, body] = key.split('\u0000') as [string, string];
    return `issue ${issue} has the same comment ${n} times: ${JSON.stringify(body.slice(0, 120))}`;
  });
}
