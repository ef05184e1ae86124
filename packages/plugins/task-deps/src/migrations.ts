import type { Migration } from '@conveyor/core';

/**
 * Declared dependencies: task `task_id` waits until task `depends_on` has ended.
 * The primary key (task_id, depends_on) is the index the claim clause probes;
 * `task_deps_reverse` serves "who waits on this task" (cycle walks, snapshots).
 */
export const taskDepsMigrations: Migration[] = [
  {
    name: 'task-deps/0001_task_deps',
    async up(knex) {
      await knex.schema.createTable('task_deps', (t) => {
        t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
        t.integer('depends_on').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
        /** `api` (declared by a person) or `tracker` (ingested "blocked by" relation). */
        t.string('source', 16).notNullable();
        t.bigInteger('created_at').notNullable();
        t.primary(['task_id', 'depends_on']);
        t.index(['depends_on', 'task_id'], 'task_deps_reverse');
      });
    },
  },
];
