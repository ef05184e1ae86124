import type { FaultScenario } from './fault-scenario.js';

/** A task as `GET /tasks` lists it. */
export interface ListedTask {
  id: number;
  stage: string;
  workItemId: string;
  trackerIssueId?: string;
}

/** Files a task on the local tracker (`POST /tasks`); returns its id. Retries while the host is down or restarting. */
export async function fileLocalTask(s: FaultScenario, title: string): Promise<number> {
  const res = await s.api<{ task: { id: number } }>('POST', '/tasks', { title });
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.task.id;
}

/**
 * What the person at the analysis gate does, on the local tracker: approves every
 * task that waits for a verdict (its review started, no verdict recorded). Returns
 * how many it approved. Read from the database; a host must be running.
 */
export async function approveWaitingLocalTasks(s: FaultScenario): Promise<number> {
  const { knex } = await s.db();
  const waiting = (await knex('tasks').where({ stage: 'analysis' }).whereNotNull('human_review_started_at').whereNull('human_verdict').select('id')) as { id: number }[];
  let approved = 0;
  for (const { id } of waiting) {
    const res = await s.api('POST', `/tasks/${id}/approve`, {});
    if (res.status === 202) approved++;
  }
  return approved;
}

/** The person files `count` work items on Plane and moves each to "To Analyse". */
export function fileForAnalysisOnPlane(s: FaultScenario, count: number): { id: string }[] {
  const plane = s.plane!;
  const issues: { id: string }[] = [];
  for (let i = 1; i <= count; i++) {
    const issue = plane.createIssue({ name: `Add feature ${i}`, state: 'Backlog' });
    plane.moveIssue(issue.id, 'To Analyse');
    issues.push(issue);
  }
  return issues;
}

/** The person approves what Conveyor puts "In Review" until every one of `issues` is Done on Plane. */
export async function approveUntilDoneOnPlane(s: FaultScenario, issues: readonly { id: string }[]): Promise<void> {
  const plane = s.plane!;
  const allDone = () => issues.every((i) => plane.stateOf(plane.issue(i.id)).name === 'Done');
  await s.until(() => (approveInReviewOnPlane(s), allDone()), 150_000, 'every work item Done', 200);
}

/** The person moves every work item Conveyor put "In Review" to "Approved". */
export function approveInReviewOnPlane(s: FaultScenario): number {
  const plane = s.plane!;
  let approved = 0;
  for (const issue of plane.issues.values()) {
    if (plane.stateOf(issue).name === 'In Review') {
      plane.moveIssue(issue.id, 'Approved');
      approved++;
    }
  }
  return approved;
}

/** Stage of every task, from the database. */
export async function stages(s: FaultScenario): Promise<Map<number, string>> {
  const { knex } = await s.db();
  const rows = (await knex('tasks').select('id', 'stage').orderBy('id')) as { id: number; stage: string }[];
  return new Map(rows.map((r) => [Number(r.id), r.stage]));
}

/** Whether every task is `done` (and there are `count` of them). */
export async function allDone(s: FaultScenario, count: number): Promise<boolean> {
  const all = await stages(s);
  return all.size === count && [...all.values()].every((st) => st === 'done');
}
