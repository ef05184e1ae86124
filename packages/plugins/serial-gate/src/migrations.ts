import type { Migration } from '@conveyor/core';

/**
 * The durable freeze: one row per frozen repository. A row survives restarts, so
 * a degraded deploy keeps the repo frozen until a person lifts it. The claim
 * clause reads it by primary key.
 */
export const serialGateMigrations: Migration[] = [
  {
    name: 'serial-gate/0001_repo_freeze',
    async up(knex) {
      await knex.schema.createTable('serial_gate_freezes', (t) => {
        t.string('repo', 200).primary();
        t.bigInteger('frozen_at').notNullable();
        /** The event that froze it (`deploy.degraded`). */
        t.string('event', 64).notNullable();
        t.text('reason').notNullable().defaultTo('');
        t.integer('task_id').nullable();
      });
    },
  },
];
