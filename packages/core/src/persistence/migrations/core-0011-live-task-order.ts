import type { Migration } from '../migration.js';

/**
 * Live tasks in id order, for the daemons that page through every live task each
 * tick: without it the scan walks every task ever made (the cost grew with the
 * history, not with the work in flight).
 */
export const coreLiveTaskOrder: Migration = {
  name: 'core/0011_live_task_order',
  async up(knex) {
    await knex.raw(`CREATE INDEX tasks_live_order ON tasks (id) WHERE stage NOT IN ('done', 'cancelled')`);
  },
};
