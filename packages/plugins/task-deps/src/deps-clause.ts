import type { ClaimClause } from '@conveyor/core';
import type { DepStore } from './dep-store.js';

/**
 * The task-deps claim clause: `NOT EXISTS` a dependency of the job's task that has
 * not ended. It probes `task_deps`' primary key (task_id, …) and each dependency's
 * primary key; a task without dependencies passes at the cost of one index probe.
 */
export function depsClause(d: { deps: DepStore; repos: readonly string[] }): ClaimClause {
  return {
    name: 'task-deps',
    build({ task }) {
      const gate = `NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on WHERE d.task_id = ${task}.id AND dt.stage NOT IN ('done', 'cancelled'))`;
      if (d.repos.length === 0) return { sql: gate, bindings: [] };
      return { sql: `${task}.repo NOT IN (${d.repos.map(() => '?').join(', ')}) OR ${gate}`, bindings: [...d.repos] };
    },
    async explain({ task }) {
      if (d.repos.length > 0 && !d.repos.includes(task.repo)) return null;
      const open = await d.deps.unfinished(task.id);
      if (!open.length) return null;
      const list = open.map((x) => `task ${x.dependsOn} (${x.workItemId}, at ${x.stage})`).join(', ');
      return {
        kind: 'dependency',
        source: 'task-deps',
        text: `Waits for ${open.length === 1 ? 'its dependency' : `${open.length} dependencies`} to finish: ${list}; remove one with \`conveyor task deps ${task.id} --remove <id>\`.`,
        data: { dependencies: open.map((x) => ({ taskId: x.dependsOn, workItemId: x.workItemId, stage: x.stage, source: x.source, since: x.createdAt.toISOString() })) },
      };
    },
  };
}
