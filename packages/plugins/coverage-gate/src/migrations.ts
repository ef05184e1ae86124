import type { Migration } from '@conveyor/core';

/**
 * `coverage_baselines`: one row per repository, the value only ratchets up (a
 * compare-and-set). `coverage_measurements`: each measurement of a task's head,
 * the latest of which raises the baseline when the task is done.
 */
export const coverageGateMigrations: Migration[] = [
  {
    name: 'coverage-gate/0001_baselines',
    async up(knex) {
      await knex.schema.createTable('coverage_baselines', (t) => {
        t.string('repo', 200).primary();
        t.double('value').notNullable();
        t.bigInteger('updated_at').notNullable();
        /** `ratchet` (a merge) or `override` (a person). */
        t.string('source', 16).notNullable();
      });
      await knex.schema.createTable('coverage_measurements', (t) => {
        t.increments('id').primary();
        t.integer('task_id').notNullable();
        t.string('repo', 200).notNullable();
        t.string('sha', 64).notNullable();
        t.double('value').nullable();
        t.double('baseline').nullable();
        t.string('status', 16).notNullable();
        t.string('mode', 16).notNullable();
        t.text('reason').notNullable();
        t.bigInteger('created_at').notNullable();
        t.index(['task_id', 'id'], 'coverage_measurements_task_idx');
        t.index(['repo', 'id'], 'coverage_measurements_repo_idx');
      });
    },
  },
];
