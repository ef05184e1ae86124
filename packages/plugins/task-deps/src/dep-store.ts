import { TERMINAL_STAGES, type Clock, type Knex } from '@conveyor/core';

/** One declared dependency with the state of the task depended on. */
export interface Dependency {
  taskId: number;
  dependsOn: number;
  source: 'api' | 'tracker';
  createdAt: Date;
  /** The depended-on task's work item id and stage, joined at read time. */
  workItemId: string;
  stage: string;
}

interface DepRow {
  task_id: number;
  depends_on: number;
  source: 'api' | 'tracker';
  created_at: number | string;
  work_item_id: string;
  stage: string;
}

const toDep = (r: DepRow): Dependency => ({ taskId: r.task_id, dependsOn: r.depends_on, source: r.source, createdAt: new Date(Number(r.created_at)), workItemId: r.work_item_id, stage: r.stage });

/** The `task_deps` table. */
export class DepStore {
  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
  ) {}

  /** Inserts an edge; false when it was already declared. */
  async add(taskId: number, dependsOn: number, source: Dependency['source']): Promise<boolean> {
    const rows = await this.knex('task_deps').insert({ task_id: taskId, depends_on: dependsOn, source, created_at: this.clock.now() }).onConflict(['task_id', 'depends_on']).ignore().returning('task_id');
    return rows.length === 1;
  }

  async remove(taskId: number, dependsOn: number): Promise<boolean> {
    return (await this.knex('task_deps').where({ task_id: taskId, depends_on: dependsOn }).delete()) > 0;
  }

  /** What a task depends on, with each dependency's stage. */
  async of(taskId: number): Promise<Dependency[]> {
    const rows = (await this.knex('task_deps as d')
      .join('tasks as t', 't.id', 'd.depends_on')
      .select('d.task_id', 'd.depends_on', 'd.source', 'd.created_at', 't.work_item_id', 't.stage')
      .where('d.task_id', taskId)
      .orderBy('d.depends_on')) as DepRow[];
    return rows.map(toDep);
  }

  /** The dependencies of a task that have not ended (what it waits for). */
  async unfinished(taskId: number): Promise<Dependency[]> {
    return (await this.of(taskId)).filter((d) => !(TERMINAL_STAGES as readonly string[]).includes(d.stage));
  }

  /** Every edge leaving `ids` (one query per DFS level, not per node). */
  async edgesFrom(ids: readonly number[]): Promise<{ taskId: number; dependsOn: number }[]> {
    if (!ids.length) return [];
    const rows = (await this.knex('task_deps').select('task_id', 'depends_on').whereIn('task_id', [...ids])) as { task_id: number; depends_on: number }[];
    return rows.map((r) => ({ taskId: r.task_id, dependsOn: r.depends_on }));
  }

  /** Live tasks with at least one unfinished dependency (snapshot), capped. */
  async waiting(limit: number): Promise<{ taskId: number; workItemId: string; waitsOn: { id: number; workItemId: string; stage: string }[] }[]> {
    const terminal = [...TERMINAL_STAGES];
    const rows = (await this.knex('task_deps as d')
      .join('tasks as w', 'w.id', 'd.task_id')
      .join('tasks as t', 't.id', 'd.depends_on')
      .select('d.task_id', 'w.work_item_id as waiter', 'd.depends_on', 't.work_item_id', 't.stage')
      .whereNotIn('w.stage', terminal)
      .whereNotIn('t.stage', terminal)
      .orderBy([{ column: 'd.task_id' }, { column: 'd.depends_on' }])
      .limit(limit)) as { task_id: number; waiter: string; depends_on: number; work_item_id: string; stage: string }[];
    const out = new Map<number, { taskId: number; workItemId: string; waitsOn: { id: number; workItemId: string; stage: string }[] }>();
    for (const r of rows) {
      const e = out.get(r.task_id) ?? { taskId: r.task_id, workItemId: r.waiter, waitsOn: [] };
      e.waitsOn.push({ id: r.depends_on, workItemId: r.work_item_id, stage: r.stage });
      out.set(r.task_id, e);
    }
    return [...out.values()];
  }
}
