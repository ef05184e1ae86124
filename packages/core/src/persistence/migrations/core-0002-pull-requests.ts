import type { Migration } from '../migration.js';

/**
 * Pull request and merge bookkeeping on the task. `merge_initiated_at` is the
 * INITIATED marker written before the irreversible merge: a STOP that sees it
 * defers, and a re-drive after a crash checks the forge before merging again.
 */
export const corePullRequests: Migration = {
  name: 'core/0002_pull_requests',
  async up(knex) {
    await knex.schema.alterTable('tasks', (t) => {
      t.integer('pr_number').nullable();
      t.text('pr_url').nullable();
      t.bigInteger('merge_initiated_at').nullable();
      t.bigInteger('merged_at').nullable();
    });
  },
};
