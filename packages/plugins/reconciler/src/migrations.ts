import type { Migration } from '@conveyor/core';

/**
 * The reconciler's claims: a host acts on a task only after it inserted (or took
 * over, once expired) the task's row, so two hosts' reconcilers never act on one
 * task at once. The row is removed when the act is over.
 */
export const reconcilerMigrations: Migration[] = [
  {
    name: 'reconciler/0001_claims',
    async up(knex) {
      await knex.schema.createTable('reconciler_claims', (t) => {
        t.integer('task_id').primary();
        t.string('host_id', 200).notNullable();
        t.bigInteger('claimed_until').notNullable();
      });
    },
  },
];
