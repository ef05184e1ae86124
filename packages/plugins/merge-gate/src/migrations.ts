import type { Migration } from '@conveyor/core';

/**
 * Every re-test attempt of the combined tree, with its output: what was tested,
 * on which sha, and whether it passed only on a retry (flaky). The passing row
 * is the record of the sha that may merge.
 */
export const mergeGateMigrations: Migration[] = [
  {
    name: 'merge-gate/0001_retests',
    async up(knex) {
      await knex.schema.createTable('merge_gate_retests', (t) => {
        t.increments('id').primary();
        t.integer('task_id').notNullable();
        t.string('repo', 200).notNullable();
        t.string('sha', 64).notNullable();
        t.integer('attempt').notNullable();
        t.integer('exit_code').nullable();
        t.boolean('passed').notNullable();
        t.boolean('flaky').notNullable().defaultTo(false);
        t.text('output').notNullable().defaultTo('');
        t.bigInteger('created_at').notNullable();
        // "What did this task's re-tests do", newest first.
        t.index(['task_id', 'id'], 'merge_gate_retests_task_idx');
      });
    },
  },
];
