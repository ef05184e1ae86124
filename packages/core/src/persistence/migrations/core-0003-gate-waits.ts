import type { Migration } from '../migration.js';

/**
 * The last non-passing gate verdict of each task's current edge, so "what does it
 * wait for" is answered from the database, never by re-running gates (which read
 * git and the forge). One row per task: a later evaluation replaces it, a pass
 * deletes it. `since` is kept while the same gate keeps the same verdict.
 */
export const coreGateWaits: Migration = {
  name: 'core/0003_gate_waits',
  async up(knex) {
    await knex.schema.createTable('gate_waits', (t) => {
      t.integer('task_id').primary().references('id').inTable('tasks').onDelete('CASCADE');
      t.string('stage', 64).notNullable();
      t.string('gate', 64).notNullable();
      t.string('verdict', 16).notNullable();
      t.text('reason').nullable();
      t.bigInteger('since').notNullable();
      t.bigInteger('evaluated_at').notNullable();
    });
  },
};
